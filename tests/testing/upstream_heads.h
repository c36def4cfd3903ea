// Upstream answers as real servers send them, shared by the gateway's tests and benchmarks.
#pragma once

#include <string_view>

namespace agentmesh::testing {

// The head nginx 1.22 sends for a small static body ("return 200" of three bytes).
inline constexpr std::string_view kNginxSmallHead =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Fri, 27 Nov 2026 13:54:28 GMT\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 3\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";
// Its body.
inline constexpr std::string_view kNginxSmallBody = "ok\n";

}  // namespace agentmesh::testing
