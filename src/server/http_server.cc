#include "agentmesh/server/http_server.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <thread>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agentmesh/core/log.h"
#include "agentmesh/server/gateway.h"

#include "http_internal.h"
#include "inq_read.h"
#include <unistd.h>

namespace agentmesh::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using internal::Connection;
using internal::ServerState;
using internal::Worker;

constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
constexpr auto kForcedCloseWait = std::chrono::seconds(2);
constexpr core::Duration kMinSweepInterval = std::chrono::milliseconds(1);
constexpr core::Duration kMaxSweepInterval = std::chrono::seconds(1);

// How often each connection thread looks for connections past their deadline: often
// enough that a timeout fires at most a quarter (and at most 1 s) late.
core::Duration SweepInterval(const HttpServerOptions& o) {
  const core::Duration quarter = std::min(o.idle_timeout, o.write_timeout) / 4;
  return std::clamp<core::Duration>(quarter, kMinSweepInterval, kMaxSweepInterval);
}

// Whether `conn` waited for a request longer than idle_timeout or is writing a response
// for longer than write_timeout. Handlers have no deadline here.
bool PastDeadline(const Connection& conn, const HttpServerOptions& o, core::TimePoint now) {
  switch (conn.phase) {
    case Connection::Phase::kIdle:
    case Connection::Phase::kReading:
      return now - conn.since >= o.idle_timeout;
    case Connection::Phase::kWriting:
      return now - conn.since >= o.write_timeout;
    case Connection::Phase::kHandling:
      return false;
  }
  return false;
}

// Splits "host:port" or "[v6]:port". Returns false when malformed.
bool SplitHostPort(std::string_view listen, std::string* host, std::uint16_t* port) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return false;
  }
  std::string_view h = listen.substr(0, colon);
  std::string_view p = listen.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || p.empty() || value > 65535 || h.empty()) {
    return false;
  }
  *host = std::string(h);
  *port = static_cast<std::uint16_t>(value);
  return true;
}

// An accepted connection's descriptor on its way to a worker; closed unless taken.
class AcceptedFd {
 public:
  explicit AcceptedFd(int fd) : fd_(fd) {}
  AcceptedFd(AcceptedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  AcceptedFd& operator=(AcceptedFd&&) = delete;
  ~AcceptedFd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int Take() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Opens the socket of an accepted connection on its worker's thread, and serves it.
void StartConnection(const std::shared_ptr<ServerState>& s, Worker& worker,
                     const tcp::endpoint::protocol_type& protocol, AcceptedFd accepted) {
  if (s->stopping.load()) {
    return;  // `accepted` closes
  }
  tcp::socket socket(worker.ioc);
  boost::system::error_code ec;
  socket.assign(protocol, accepted.Take(), ec);
  if (ec) {
    core::log::Warn("accept failed", {{"error", ec.message()}});
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  internal::EnableInq(socket);
  auto conn = std::make_shared<Connection>(std::move(socket), worker);
  {
    std::lock_guard lock(s->mu);
    s->connections.insert(conn);
  }
  auto serve = internal::ServeConnection(s, conn);
  asio::co_spawn(worker.ioc, std::move(serve), [s, conn](std::exception_ptr) {
    std::lock_guard lock(s->mu);
    s->connections.erase(conn);
    s->idle_cv.notify_all();
  });
}

// Accepts connections and hands each to the next worker, which opens its socket there:
// a worker's sockets are registered, used and closed on its thread only (see Worker).
asio::awaitable<void> AcceptLoop(std::shared_ptr<ServerState> s) {
  const tcp::endpoint::protocol_type protocol = s->acceptor.local_endpoint().protocol();
  for (;;) {
    tcp::socket socket(s->acceptor.get_executor());
    auto [ec] = co_await s->acceptor.async_accept(socket, asio::as_tuple(asio::use_awaitable));
    if (s->stopping.load()) {
      break;
    }
    int fd = -1;
    if (!ec) {
      fd = socket.release(ec);
    }
    if (ec) {
      if (ec == asio::error::operation_aborted) {
        break;
      }
      // Out of descriptors or a transient network error: back off, keep serving.
      core::log::Warn("accept failed", {{"error", ec.message()}});
      asio::steady_timer timer(s->acceptor.get_executor(), kAcceptRetryDelay);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    Worker& worker = *s->workers[s->next_worker++ % s->workers.size()];
    asio::post(worker.ioc, [s, &worker, protocol, accepted = AcceptedFd(fd)]() mutable {
      StartConnection(s, worker, protocol, std::move(accepted));
    });
  }
}

}  // namespace

namespace internal {

EndpointStats::EndpointStats(observe::Family<observe::Counter>& requests,
                             observe::Histogram& duration, std::string route, std::string method)
    : requests_(requests),
      duration_(duration),
      route_(std::move(route)),
      method_(std::move(method)) {}

void EndpointStats::Record(int status, double seconds) {
  duration_.Observe(seconds);
  if (status < 0 || status >= kMaxStatus) {
    status = 0;
  }
  observe::Counter* c = by_status_[status].load(std::memory_order_acquire);
  if (c == nullptr) {
    c = &requests_.WithLabels({route_, method_, std::to_string(status)});
    by_status_[status].store(c, std::memory_order_release);
  }
  c->Inc();
}

ServerState::ServerState(HttpServerOptions opts, asio::io_context& io, const Router& r,
                         core::Clock& c, observe::Registry& metrics)
    : options(std::move(opts)), ioc(io), router(r), clock(c), acceptor(asio::make_strand(io)) {
  auto& requests = metrics.AddCounter("agentmesh_server_requests_total",
                                      "HTTP requests answered, by route, method and status.",
                                      {"route", "method", "status"});
  auto& durations = metrics.AddHistogram("agentmesh_server_request_duration_seconds",
                                         "HTTP request latency from parsed request to written "
                                         "response, by route and method.",
                                         {"route", "method"}, observe::DefaultLatencyBuckets());
  for (const Endpoint& e : router.endpoints()) {
    const std::string method(MethodName(e.method));
    stats.push_back(std::make_unique<EndpointStats>(
        requests, durations.WithLabels({e.pattern, method}), e.pattern, method));
  }
  for (int m = 0; m <= static_cast<int>(Method::kOther); ++m) {
    const std::string method(MethodName(static_cast<Method>(m)));
    stats.push_back(std::make_unique<EndpointStats>(
        requests, durations.WithLabels({"unmatched", method}), "unmatched", method));
  }
}

void SweepConnections(ServerState& s, Worker& w) {
  const core::TimePoint now = s.clock.Now();
  for (Connection* conn : w.live) {
    if (PastDeadline(*conn, s.options, now)) {
      CloseConnection(*conn);
    }
  }
  w.sweep.expires_after(SweepInterval(s.options));
  w.sweep.async_wait([&s, &w](const boost::system::error_code& ec) {
    if (!ec) {
      SweepConnections(s, w);
    }
  });
}

EndpointStats& ServerState::Stats(int endpoint, Method method) {
  if (endpoint >= 0) {
    return *stats[endpoint];
  }
  return *stats[router.endpoints().size() + static_cast<std::size_t>(method)];
}

}  // namespace internal

core::Status Validate(const HttpServerOptions& o) {
  std::string host;
  std::uint16_t port = 0;
  if (!SplitHostPort(o.listen, &host, &port)) {
    return core::InvalidArgument("invalid_listen", "listen must be HOST:PORT, e.g. 127.0.0.1:7700");
  }
  if (o.max_body_bytes == 0 || o.max_header_bytes < 1024) {
    return core::InvalidArgument("invalid_limits",
                                 "max_body_bytes must be > 0 and max_header_bytes >= 1024");
  }
  if (o.idle_timeout <= core::Duration::zero() || o.write_timeout <= core::Duration::zero() ||
      o.drain_timeout < core::Duration::zero()) {
    return core::InvalidArgument("invalid_timeout", "server timeouts must be positive");
  }
  return core::OkStatus();
}

HttpServer::HttpServer(HttpServerOptions options, asio::io_context& ioc, const Router& router,
                       core::Clock& clock, observe::Registry& metrics)
    : state_(std::make_shared<ServerState>(std::move(options), ioc, router, clock, metrics)) {}

HttpServer::~HttpServer() = default;

core::Status HttpServer::Start() {
  core::Status valid = Validate(state_->options);
  if (!valid.ok()) {
    return valid;
  }
  std::uint16_t port = 0;
  SplitHostPort(state_->options.listen, &state_->host, &port);
  boost::system::error_code ec;
  tcp::resolver resolver(state_->ioc);
  auto results = resolver.resolve(state_->host, std::to_string(port),
                                  tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return core::InvalidArgument(
        "invalid_listen", "cannot resolve listen host '" + state_->host + "': " + ec.message());
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(state_->options.backlog, ec);
  }
  if (ec) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return core::Unavailable("listen_failed",
                             "cannot listen on " + state_->options.listen + ": " + ec.message());
  }
  state_->port = acceptor.local_endpoint(ec).port();
  int threads = state_->options.io_threads;
  if (threads <= 0) {
    threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  for (int i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>();
    state_->work.push_back(asio::make_work_guard(worker->ioc));
    internal::SweepConnections(*state_, *worker);
    state_->threads.emplace_back([io = &worker->ioc] { io->run(); });
    state_->workers.push_back(std::move(worker));
  }
  asio::co_spawn(acceptor.get_executor(), AcceptLoop(state_), [](std::exception_ptr) {});
  return core::OkStatus();
}

void HttpServer::SetGateway(Gateway* gateway) {
  state_->gateway = gateway == nullptr ? nullptr : &gateway->state();
}

const std::string& HttpServer::host() const { return state_->host; }
std::uint16_t HttpServer::port() const { return state_->port; }

std::size_t HttpServer::connections() const {
  std::lock_guard lock(state_->mu);
  return state_->connections.size();
}

void HttpServer::Stop() {
  auto s = state_;
  s->stopping.store(true);
  asio::post(s->acceptor.get_executor(), [s] {
    boost::system::error_code ignored;
    s->acceptor.close(ignored);
  });
  // Idle keep-alive connections close now; busy ones finish their request first.
  const auto close_connections = [&s](bool only_idle) {
    std::lock_guard lock(s->mu);
    for (const auto& conn : s->connections) {
      asio::post(conn->stream.get_executor(), [conn, only_idle] {
        if (!only_idle || conn->phase == Connection::Phase::kIdle) {
          internal::CloseConnection(*conn);
        }
      });
    }
  };
  close_connections(true);
  std::unique_lock lock(s->mu);
  if (!s->idle_cv.wait_for(lock, s->options.drain_timeout,
                           [&s] { return s->connections.empty(); })) {
    core::log::Warn("drain timeout; closing busy connections",
                    {{"connections", s->connections.size()}});
    lock.unlock();
    close_connections(false);
    lock.lock();
    s->idle_cv.wait_for(lock, kForcedCloseWait, [&s] { return s->connections.empty(); });
  }
  lock.unlock();
  s->work.clear();
  for (auto& worker : s->workers) {
    worker->ioc.stop();
  }
  for (auto& t : s->threads) {
    t.join();
  }
  s->threads.clear();
}

}  // namespace agentmesh::server
