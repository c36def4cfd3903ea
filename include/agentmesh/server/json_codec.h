// JSON codec of the HTTP API: strict parsing of request bodies and query strings into
// health types, and the JSON views of instances, transitions and health summaries.
//
// Parsing is strict: malformed JSON, wrong types, unknown fields, ids that fail
// core::ValidateId, values out of range and oversized lists are each a specific 400
// (see src/server/README.md for the codes). Stateless, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/health/membership.h"
#include "agentmesh/health/types.h"
#include "agentmesh/server/errors.h"

namespace agentmesh::server {

// Bounds on a registration body.
inline constexpr std::size_t kMaxCapabilities = 64;
inline constexpr std::size_t kMaxMetadataEntries = 64;
inline constexpr std::size_t kMaxMetadataKeyLength = 128;
inline constexpr std::size_t kMaxMetadataValueLength = 1024;
inline constexpr std::size_t kMaxAddressLength = 262;
inline constexpr int kMinWeight = 1;
inline constexpr int kMaxWeight = 10000;

// Parses a PUT /v1/agents/{id} body for instance `id`.
// Errors: invalid_id, malformed_json, missing_body, invalid_field, unknown_field,
// missing_field, invalid_agent, invalid_domain, invalid_capability, phase_out_of_range,
// weight_out_of_range, too_many_capabilities, too_many_metadata, field_too_long,
// invalid_address (all kInvalidArgument).
ApiResult<health::InstanceSpec> ParseInstanceSpec(std::string_view id, std::string_view body);

// Parses a heartbeat body; an empty body is a sample of zeros.
// Errors: malformed_json, invalid_field, unknown_field, value_out_of_range.
ApiResult<health::LoadSample> ParseLoadSample(std::string_view body);

struct Observation {
  std::string observer;
  bool healthy = false;
};
// Parses a POST /v1/agents/{id}/observations body.
// Errors: malformed_json, missing_body, invalid_field, unknown_field, missing_field,
// invalid_observer.
ApiResult<Observation> ParseObservation(std::string_view body);

// Parses the query string of GET /v1/agents (phase, domain, capability, agent, status).
// Errors: malformed_query, unknown_parameter, invalid_field, phase_out_of_range,
// invalid_status.
ApiResult<health::ListFilter> ParseListFilter(std::string_view query);

// Checks `id` (a path segment) with core::ValidateId. Errors: invalid_id.
ApiResult<std::string> ParseInstanceId(std::string_view id);

// Checks that a request with a body declares JSON (or nothing).
// Errors: unsupported_media_type.
ApiResult<void> CheckJsonContentType(std::string_view content_type, std::string_view body);

// Formats `t` as "2026-11-26T20:01:02.345Z".
std::string FormatTimestamp(core::WallTime t);

boost::json::object InstanceViewToJson(const health::InstanceView& view);
boost::json::object TransitionToJson(const health::Transition& transition);
// The body of GET /health (without the per-instance detail of /debug/health).
boost::json::object SummaryToJson(const health::HealthSummary& summary, std::string_view node_id);

}  // namespace agentmesh::server
