#include "agentmesh/routing/least_connections.h"

namespace agentmesh::routing {

int LeastConnections::Pick(std::span<const LeastConnectionsCandidate> candidates) {
  return Pick(candidates, [](int) { return true; });
}

}  // namespace agentmesh::routing
