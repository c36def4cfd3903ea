// Maps the policy (consensus, quorum, locks, storage.coordination) and the fleet onto
// the options of the coordination backends. Part of the cli module.
#pragma once

#include "agentmesh/config/fleet.h"
#include "agentmesh/config/policy.h"
#include "agentmesh/server/coord_service.h"
#include "agentmesh/server/etcd_coord_service.h"

namespace agentmesh::cli {

// `fleet` may be null: coordinator roles of domains are then open to every agent, and
// the electorate of proposals is empty.
server::CoordServiceOptions ToCoordServiceOptions(const config::Policy& policy,
                                                  const config::Fleet* fleet);

// The etcd backend's options: the same rules plus storage.coordination's endpoints,
// prefix and request timeout.
server::EtcdCoordOptions ToEtcdCoordOptions(const config::Policy& policy,
                                            const server::CoordServiceOptions& coord);

}  // namespace agentmesh::cli
