// Internal state shared by the listener (http_server.cc) and the per-connection
// coroutine (http_connection.cc). Not a public API.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "agentmesh/observe/metrics.h"
#include "agentmesh/server/http_server.h"
#include "agentmesh/server/router.h"

namespace agentmesh::server::internal {

// Request counters and the latency histogram of one (route, method), with the
// per-status counters resolved once and cached.
class EndpointStats {
 public:
  EndpointStats(observe::Family<observe::Counter>& requests, observe::Histogram& duration,
                std::string route, std::string method);
  // Counts one request answered with `status` that took `seconds`.
  void Record(int status, double seconds);

 private:
  static constexpr int kMaxStatus = 600;
  observe::Family<observe::Counter>& requests_;
  observe::Histogram& duration_;
  std::string route_;
  std::string method_;
  std::array<std::atomic<observe::Counter*>, kMaxStatus> by_status_{};
};

// One accepted connection. `busy` is touched only on the connection's thread.
struct Connection {
  explicit Connection(boost::asio::ip::tcp::socket socket) : stream(std::move(socket)) {}
  boost::beast::tcp_stream stream;
  bool busy = true;
};

struct ServerState {
  ServerState(HttpServerOptions options, boost::asio::io_context& ioc, const Router& router,
              core::Clock& clock, observe::Registry& metrics);

  // Returns the stats of `endpoint` (>= 0), or of unmatched requests with `method`.
  EndpointStats& Stats(int endpoint, Method method);

  HttpServerOptions options;
  boost::asio::io_context& ioc;
  const Router& router;
  core::Clock& clock;
  std::vector<std::unique_ptr<EndpointStats>> stats;  // endpoints, then unmatched per method
  boost::asio::ip::tcp::acceptor acceptor;
  std::string host;
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};

  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> workers;  // one per connection thread
  std::vector<WorkGuard> work;
  std::vector<std::thread> threads;
  std::size_t next_worker = 0;  // used by the accept loop only

  std::mutex mu;
  std::condition_variable idle_cv;                              // signalled when a connection ends
  std::unordered_set<std::shared_ptr<Connection>> connections;  // guarded by mu
};

// Serves `conn` until it closes; runs on the connection's io_context thread.
boost::asio::awaitable<void> ServeConnection(std::shared_ptr<ServerState> state,
                                             std::shared_ptr<Connection> conn);

}  // namespace agentmesh::server::internal
