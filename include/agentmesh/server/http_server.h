// HttpServer: the node's HTTP/1.1 keep-alive server on Boost.Beast and C++20 coroutines.
//
// The caller's io_context runs the acceptor; connections are spread round-robin over
// `io_threads` single-threaded io_contexts that the server owns (one thread each: no
// strands, no scheduler lock shared between threads). One coroutine per connection;
// each request is parsed with a body limit and a header limit, routed by Router, timed and
// counted in agentmesh_server_* metrics, and answered with X-Correlation-ID. Parse
// errors answer 400/413/431 in the API error format and close the connection. Stop()
// stops accepting, lets in-flight requests finish within a drain timeout and closes
// idle keep-alive connections. Start/Stop/port are called from one control thread;
// the router must not change after Start().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"
#include "agentmesh/observe/metrics.h"
#include "agentmesh/server/router.h"

namespace agentmesh::server {

class Gateway;
namespace internal {
struct ServerState;
}  // namespace internal

struct HttpServerOptions {
  // HOST:PORT to listen on; port 0 picks a free port (see HttpServer::port()).
  std::string listen = "127.0.0.1:7700";
  // Largest request body accepted; larger bodies get 413 body_too_large.
  std::size_t max_body_bytes = 1 << 20;
  // Largest request line plus headers accepted; larger get 431 headers_too_large.
  std::size_t max_header_bytes = 16 * 1024;
  // A keep-alive connection with no request for this long is closed.
  core::Duration idle_timeout = std::chrono::seconds(60);
  // Longest time one response may take to write.
  core::Duration write_timeout = std::chrono::seconds(30);
  // How long Stop() waits for in-flight requests before closing connections.
  core::Duration drain_timeout = std::chrono::seconds(5);
  // Pending connections queued by the kernel.
  int backlog = 1024;
  // Threads (each with its own io_context) serving connections; 0 = one per core.
  int io_threads = 0;
};

core::Status Validate(const HttpServerOptions& options);

class HttpServer {
 public:
  // `ioc`, `router`, `clock` and `metrics` must outlive the server. Call Stop() (while
  // the io_context still runs) before destroying a started server.
  HttpServer(HttpServerOptions options, boost::asio::io_context& ioc, const Router& router,
             core::Clock& clock, observe::Registry& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens, starts the connection threads and starts accepting on the
  // io_context given to the constructor (which the caller runs).
  // Errors: kInvalidArgument (invalid_listen) for a bad HOST:PORT; kUnavailable
  // (listen_failed) when the address cannot be bound.
  core::Status Start();
  // Hands the gateway paths (/agents/..., /api/v1/...) to `gateway`, which must outlive
  // the server. Call before Start().
  void SetGateway(Gateway* gateway);
  // Returns the bound host as given and the real port (after Start()).
  const std::string& host() const;
  std::uint16_t port() const;

  // Stops accepting, waits up to drain_timeout for in-flight requests, closes every
  // connection, waits for the connection coroutines to end, then joins the connection
  // threads. Must not be called from an io_context thread.
  void Stop();

  // Connections currently open.
  std::size_t connections() const;

 private:
  std::shared_ptr<internal::ServerState> state_;
};

}  // namespace agentmesh::server
