// The coordination API: sessions, elections, coordinators, locks, lock sets, barriers
// and quorum proposals under /v1 (specified in src/server/README.md). Names in paths
// may contain '/' written as %2F (coordinator%2Fglobal). Handlers are thread-safe; the
// backend must outlive the router.
#pragma once

#include "agentmesh/server/coord_backend.h"
#include "agentmesh/server/router.h"

namespace agentmesh::server {

// Adds POST /v1/sessions, PUT /v1/sessions/{id}/renew, GET and DELETE /v1/sessions/{id};
// POST /v1/elections/{name}/campaign and /resign, GET /v1/elections/{name},
// GET /v1/coordinators; POST /v1/locks/{name}/acquire, /release and /renew,
// GET /v1/locks/{name}, POST /v1/lock-sets/acquire; POST /v1/barriers/{name} and
// /v1/barriers/{name}/arrive, GET /v1/barriers/{name}; POST /v1/proposals,
// POST /v1/proposals/{id}/votes (X-Agent-ID must name the voter), GET /v1/proposals/{id}.
void AddCoordRoutes(Router& router, CoordBackend& coord);

}  // namespace agentmesh::server
