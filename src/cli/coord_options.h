// Maps the policy (consensus, quorum, locks sections) and the fleet onto the options
// of the coordination service. Part of the cli module.
#pragma once

#include "agentmesh/config/fleet.h"
#include "agentmesh/config/policy.h"
#include "agentmesh/server/coord_service.h"

namespace agentmesh::cli {

// `fleet` may be null: coordinator roles of domains are then open to every agent, and
// the electorate of proposals is empty.
server::CoordServiceOptions ToCoordServiceOptions(const config::Policy& policy,
                                                  const config::Fleet* fleet);

}  // namespace agentmesh::cli
