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
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "agentmesh/core/clock.h"
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

struct Worker;

// One accepted connection. Everything but `worker` is touched only on the connection's
// thread. Its deadlines are enforced by the worker's sweep (see SweepConnections), not
// by per-request timers: `phase` says which timeout applies, counted from `since`.
struct Connection {
  enum class Phase {
    kIdle,      // waiting for (the rest of) a request header: idle_timeout
    kReading,   // header parsed, reading the body: idle_timeout from the same `since`
    kHandling,  // in the handler or a lingering close: no sweep deadline
    kWriting,   // writing a response asynchronously: write_timeout
  };
  Connection(boost::asio::ip::tcp::socket socket, Worker& w)
      : stream(std::move(socket)), worker(w) {}
  boost::beast::tcp_stream stream;
  Worker& worker;
  Phase phase = Phase::kHandling;
  core::TimePoint since{};
};

// One connection thread: its io_context, the connections it serves and the timer that
// closes those past their deadline. `live` and `sweep` are touched only on that thread.
struct Worker {
  std::unordered_set<Connection*> live;  // declared first: outlives the io_context's frames
  boost::asio::io_context ioc{1};
  boost::asio::steady_timer sweep{ioc};
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
  std::vector<std::unique_ptr<Worker>> workers;  // one per connection thread
  std::vector<WorkGuard> work;
  std::vector<std::thread> threads;
  std::size_t next_worker = 0;  // used by the accept loop only

  std::mutex mu;
  std::condition_variable idle_cv;                              // signalled when a connection ends
  std::unordered_set<std::shared_ptr<Connection>> connections;  // guarded by mu
};

// Closes the connections of `w` that are past their deadline and re-arms the sweep
// timer; runs on the worker's thread until its io_context stops.
void SweepConnections(ServerState& s, Worker& w);

// Closes `conn`'s socket, so that its pending operation ends; on the connection's thread.
void CloseConnection(Connection& conn);

// Serves `conn` until it closes; runs on the connection's io_context thread.
boost::asio::awaitable<void> ServeConnection(std::shared_ptr<ServerState> state,
                                             std::shared_ptr<Connection> conn);

}  // namespace agentmesh::server::internal
