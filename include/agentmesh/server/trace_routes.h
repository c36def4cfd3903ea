// Trace routes: the read side of the gateway's distributed tracing (rules 10.1).
//
// GET /debug/traces lists recent traces (filterable) and GET /v1/traces/{trace_id}
// returns one trace as a span tree, both from the node's observe::TraceStore. Owned by
// the tracing work of the server module; handlers are thread-safe, and the store must
// outlive the router.
#pragma once

#include <cstddef>

#include "agentmesh/observe/trace_store.h"
#include "agentmesh/server/router.h"

namespace agentmesh::server {

// Default and largest `limit` of GET /debug/traces.
inline constexpr std::size_t kDefaultTraceLimit = 100;
inline constexpr std::size_t kMaxTraceLimit = 1000;

// Adds GET /debug/traces (query parameters: agent=<id or name>, errors=true|false,
// min_duration=<duration like 250ms>, limit=1..1000; answers {"traces": [...], "count"})
// and GET /v1/traces/{trace_id} (the span tree of observe::TraceStore::Tree).
// Errors: 400 unknown_parameter, malformed_query, invalid_field (details.field names the
// parameter) for bad query values; 400 invalid_trace_id when the id is not 32 lowercase
// hex digits (or all zero); 404 unknown_trace when the store does not hold the trace.
void AddTraceRoutes(Router& router, const observe::TraceStore& store);

}  // namespace agentmesh::server
