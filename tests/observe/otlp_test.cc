#include "agentmesh/observe/otlp.h"

#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace agentmesh::observe {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kTraceHex = "4bf92f3577b34da6a3ce929d0e0e4736";

Span RootSpan() {
  Span s;
  s.trace_id = *TraceId::FromHex(kTraceHex);
  s.span_id = *SpanId::FromHex("00f067aa0ba902b7");
  s.name = "GET /agents/{name}";
  s.start = core::WallTime(std::chrono::seconds(1'800'000'000)) + std::chrono::microseconds(5);
  s.duration = 1500ms;
  s.http_status = 200;
  s.attributes = {{"agent.id", "orch-1"}, {"agent.phase", "1"}};
  return s;
}

boost::json::object OnlySpan(const boost::json::value& request) {
  const auto& resource_spans = request.at("resourceSpans").as_array();
  EXPECT_EQ(resource_spans.size(), 1u);
  const auto& scope_spans = resource_spans[0].at("scopeSpans").as_array();
  EXPECT_EQ(scope_spans.size(), 1u);
  const auto& spans = scope_spans[0].at("spans").as_array();
  EXPECT_EQ(spans.size(), 1u);
  return spans[0].as_object();
}

TEST(OtlpJsonTest, WrapsSpansInResourceAndScope) {
  const std::vector<Span> spans = {RootSpan(), RootSpan()};
  const boost::json::value request = boost::json::parse(EncodeOtlpJson(spans, "node-a"));
  const auto& resource_spans = request.at("resourceSpans").as_array();
  ASSERT_EQ(resource_spans.size(), 1u);
  const auto& resource_attrs = resource_spans[0].at("resource").at("attributes").as_array();
  ASSERT_EQ(resource_attrs.size(), 1u);
  EXPECT_EQ(resource_attrs[0].at("key").as_string(), "service.name");
  EXPECT_EQ(resource_attrs[0].at("value").at("stringValue").as_string(), "node-a");
  const auto& scope = resource_spans[0].at("scopeSpans").as_array()[0];
  EXPECT_EQ(scope.at("scope").at("name").as_string(), kOtlpScopeName);
  EXPECT_EQ(scope.at("spans").as_array().size(), 2u);
}

TEST(OtlpJsonTest, EncodesIdsAsHexAndTimesAsDecimalStrings) {
  const std::vector<Span> spans = {RootSpan()};
  const auto span = OnlySpan(boost::json::parse(EncodeOtlpJson(spans, "agentmesh")));
  EXPECT_EQ(span.at("traceId").as_string(), kTraceHex);
  EXPECT_EQ(span.at("spanId").as_string(), "00f067aa0ba902b7");
  EXPECT_FALSE(span.contains("parentSpanId"));
  EXPECT_EQ(span.at("name").as_string(), "GET /agents/{name}");
  EXPECT_EQ(span.at("kind").as_int64(), 2);  // SPAN_KIND_SERVER
  EXPECT_EQ(span.at("startTimeUnixNano").as_string(), "1800000000000005000");
  EXPECT_EQ(span.at("endTimeUnixNano").as_string(), "1800000001500005000");
  EXPECT_EQ(span.at("status").at("code").as_int64(), 0);  // STATUS_CODE_UNSET
}

TEST(OtlpJsonTest, EncodesAttributesAsKeyValueList) {
  const std::vector<Span> spans = {RootSpan()};
  const auto span = OnlySpan(boost::json::parse(EncodeOtlpJson(spans, "agentmesh")));
  const auto& attrs = span.at("attributes").as_array();
  ASSERT_EQ(attrs.size(), 3u);
  EXPECT_EQ(attrs[0].at("key").as_string(), "agent.id");
  EXPECT_EQ(attrs[0].at("value").at("stringValue").as_string(), "orch-1");
  EXPECT_EQ(attrs[1].at("key").as_string(), "agent.phase");
  EXPECT_EQ(attrs[2].at("key").as_string(), "http.response.status_code");
  EXPECT_EQ(attrs[2].at("value").at("intValue").as_string(), "200");
}

TEST(OtlpJsonTest, ChildErrorSpanHasParentAndErrorStatus) {
  Span child = RootSpan();
  child.span_id = *SpanId::FromHex("b7ad6b7169203331");
  child.parent_id = *SpanId::FromHex("00f067aa0ba902b7");
  child.kind = "client";
  child.error = true;
  child.http_status = 0;
  const std::vector<Span> spans = {child};
  const auto span = OnlySpan(boost::json::parse(EncodeOtlpJson(spans, "agentmesh")));
  EXPECT_EQ(span.at("parentSpanId").as_string(), "00f067aa0ba902b7");
  EXPECT_EQ(span.at("kind").as_int64(), 3);               // SPAN_KIND_CLIENT
  EXPECT_EQ(span.at("status").at("code").as_int64(), 2);  // STATUS_CODE_ERROR
  EXPECT_EQ(span.at("attributes").as_array().size(), 2u);
}

TEST(OtlpJsonTest, UnknownKindIsUnspecifiedAndEmptyBatchIsValid) {
  Span s = RootSpan();
  s.kind = "weird";
  const std::vector<Span> spans = {s};
  EXPECT_EQ(OnlySpan(boost::json::parse(EncodeOtlpJson(spans, "x"))).at("kind").as_int64(), 0);
  const boost::json::value empty = boost::json::parse(EncodeOtlpJson({}, "x"));
  EXPECT_TRUE(empty.at("resourceSpans")
                  .as_array()[0]
                  .at("scopeSpans")
                  .as_array()[0]
                  .at("spans")
                  .as_array()
                  .empty());
}

}  // namespace
}  // namespace agentmesh::observe
