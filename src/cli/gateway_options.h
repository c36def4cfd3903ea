// Maps the policy file onto the gateway's options (the composition root's job).
#pragma once

#include "agentmesh/config/policy.h"
#include "agentmesh/server/gateway.h"

namespace agentmesh::cli {

// Returns the gateway options that `policy` describes (sections circuit_breaker, traffic,
// isolation, load_balancing, degradation, tracing and communication).
server::GatewayOptions ToGatewayOptions(const config::Policy& policy);

}  // namespace agentmesh::cli
