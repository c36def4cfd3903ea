// Turning a node's HTTP answer into a core::Status, for every client of the API.
//
// The node answers errors as {"error": {"code", "message", "details"}}; the code becomes
// the Status reason and the HTTP status picks the canonical code. Stateless, thread-safe.
#pragma once

#include "agentmesh/client/http_client.h"
#include "agentmesh/core/status.h"

namespace agentmesh::client {

// Returns ok for 2xx; otherwise a Status whose reason is error.code from the body (or
// "http_<status>" when the body has none) and whose code follows the HTTP status:
// 400/413 kInvalidArgument, 404 kNotFound, 405 kUnimplemented, 409 kFailedPrecondition,
// 429 kResourceExhausted, 504 kDeadlineExceeded, other 5xx kUnavailable, else kUnknown.
core::Status StatusFromResponse(const HttpResponse& response);

}  // namespace agentmesh::client
