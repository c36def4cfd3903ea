// The node's routes: the agent registry API (/v1/agents...) and the admin and debug
// endpoints (/health, /debug/health, /metrics, /debug/metrics, /debug/events), as
// specified in the HTTP API contract (src/server/README.md). Handlers are thread-safe;
// the referenced objects must outlive the router.
#pragma once

#include <cstddef>
#include <functional>

#include <boost/json/array.hpp>

#include "agentmesh/observe/metrics.h"
#include "agentmesh/server/membership_service.h"
#include "agentmesh/server/router.h"

namespace agentmesh::server {

// Returns up to `limit` recent events as JSON objects, newest last.
using RecentEventsFn = std::function<boost::json::array(std::size_t limit)>;

// Adds PUT/GET/DELETE /v1/agents/{id}, GET /v1/agents, PUT /v1/agents/{id}/heartbeat,
// POST /v1/agents/{id}/observations and GET /v1/agents/{id}/history.
void AddAgentRoutes(Router& router, MembershipService& membership);

// Adds GET /health, /debug/health, /metrics, /debug/metrics and /debug/events.
// `recent_events` may be empty (no journal): the event lists are then empty.
void AddAdminRoutes(Router& router, MembershipService& membership, const observe::Registry& metrics,
                    RecentEventsFn recent_events);

}  // namespace agentmesh::server
