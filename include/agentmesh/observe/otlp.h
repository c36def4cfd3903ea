// OTLP/HTTP JSON encoding of spans: the body of POST {collector}/v1/traces.
//
// Follows the OTLP JSON Protobuf Encoding (opentelemetry-proto trace.proto,
// ExportTraceServiceRequest): lowerCamelCase field names, trace and span ids as
// lowercase hex (not base64), 64-bit times as decimal strings, enums as integers.
// Used by server::OtlpExporter. Pure function, thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "agentmesh/observe/trace_store.h"

namespace agentmesh::observe {

// Instrumentation scope name of every exported span.
inline constexpr std::string_view kOtlpScopeName = "agentmesh.gateway";

// Returns an ExportTraceServiceRequest with one resourceSpans entry (resource attribute
// service.name = `service_name`) holding one scopeSpans entry with `spans`. Each span
// has traceId, spanId, parentSpanId (omitted for a root), name, kind (SpanKind number,
// SERVER = 2), startTimeUnixNano, endTimeUnixNano, attributes ({key, value:
// {stringValue}}, plus http.response.status_code as intValue when set) and status
// (code 2 = ERROR for failed spans, else 0 = UNSET).
std::string EncodeOtlpJson(std::span<const Span> spans, std::string_view service_name);

}  // namespace agentmesh::observe
