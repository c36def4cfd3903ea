#include "agentmesh/observe/otlp.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace agentmesh::observe {
namespace {

// opentelemetry.proto.trace.v1.Span.SpanKind
constexpr int kKindUnspecified = 0;
constexpr std::array<std::pair<std::string_view, int>, 5> kKinds = {{
    {"internal", 1},
    {"server", 2},
    {"client", 3},
    {"producer", 4},
    {"consumer", 5},
}};
// opentelemetry.proto.trace.v1.Status.StatusCode
constexpr int kStatusUnset = 0;
constexpr int kStatusError = 2;

int KindNumber(std::string_view kind) {
  for (const auto& [name, number] : kKinds) {
    if (name == kind) {
      return number;
    }
  }
  return kKindUnspecified;
}

std::string UnixNanos(core::WallTime t) {
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return std::to_string(static_cast<std::uint64_t>(nanos.count()));
}

boost::json::object StringAttribute(std::string_view key, std::string_view value) {
  return {{"key", key}, {"value", {{"stringValue", value}}}};
}

boost::json::object SpanToOtlp(const Span& span) {
  boost::json::array attributes;
  for (const auto& [key, value] : span.attributes) {
    attributes.push_back(StringAttribute(key, value));
  }
  if (span.http_status != 0) {
    // AnyValue.int_value is an int64: a decimal string in OTLP JSON.
    attributes.push_back(
        boost::json::object{{"key", "http.response.status_code"},
                            {"value", {{"intValue", std::to_string(span.http_status)}}}});
  }
  boost::json::object out;
  out["traceId"] = span.trace_id.Hex();
  out["spanId"] = span.span_id.Hex();
  if (span.parent_id.valid()) {
    out["parentSpanId"] = span.parent_id.Hex();
  }
  out["name"] = span.name;
  out["kind"] = KindNumber(span.kind);
  out["startTimeUnixNano"] = UnixNanos(span.start);
  out["endTimeUnixNano"] =
      UnixNanos(span.start + std::chrono::duration_cast<core::WallTime::duration>(span.duration));
  out["attributes"] = std::move(attributes);
  out["status"] = boost::json::object{{"code", span.error ? kStatusError : kStatusUnset}};
  return out;
}

}  // namespace

std::string EncodeOtlpJson(std::span<const Span> spans, std::string_view service_name) {
  boost::json::array otlp_spans;
  otlp_spans.reserve(spans.size());
  for (const Span& span : spans) {
    otlp_spans.push_back(SpanToOtlp(span));
  }
  boost::json::object scope_spans;
  scope_spans["scope"] = boost::json::object{{"name", kOtlpScopeName}};
  scope_spans["spans"] = std::move(otlp_spans);

  boost::json::object resource_spans;
  resource_spans["resource"] = boost::json::object{
      {"attributes", boost::json::array{StringAttribute("service.name", service_name)}}};
  resource_spans["scopeSpans"] = boost::json::array{std::move(scope_spans)};

  boost::json::object request;
  request["resourceSpans"] = boost::json::array{std::move(resource_spans)};
  return boost::json::serialize(request);
}

}  // namespace agentmesh::observe
