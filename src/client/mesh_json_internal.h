// JSON bodies the agent SDK sends to a node (api.md), and the one field it reads back.
#pragma once

#include <string>
#include <string_view>

#include "agentmesh/health/types.h"

namespace agentmesh::client::internal {

// Returns the PUT /v1/agents/{id} body for `spec` (empty optional fields left out).
std::string SpecToJson(const health::InstanceSpec& spec);
// Returns the heartbeat body, cpu/memory clamped to [0, 1] and queue_depth to >= 0.
std::string LoadToJson(const health::LoadSample& load);
// Returns the POST /v1/agents/{peer}/observations body.
std::string ObservationToJson(std::string_view observer, bool healthy);
// Returns body["status"] when the body is an object with a string status, else "".
std::string StatusField(std::string_view body);

}  // namespace agentmesh::client::internal
