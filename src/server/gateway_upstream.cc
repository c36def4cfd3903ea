// The gateway's upstream connections: a per-thread pool of keep-alive connections per
// (agent, address), connects bounded by connect_timeout, and per-exchange deadlines.
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/gateway_internal.h"
#include "server/inq_read.h"
#include <sys/socket.h>

namespace agentmesh::server::internal {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// An idle connection older than this is probed for a close by the upstream before use.
constexpr auto kProbeIdleAfter = std::chrono::seconds(1);

using Idle = std::vector<std::shared_ptr<UpstreamConnection>>;

// Pool keys are looked up by target, with the hash the target was made with.
struct PoolKeyHash {
  using is_transparent = void;
  std::size_t operator()(const std::string& key) const { return std::hash<std::string>{}(key); }
  std::size_t operator()(const UpstreamTarget* target) const { return target->pool_hash; }
};
struct PoolKeyEqual {
  using is_transparent = void;
  bool operator()(const std::string& a, const std::string& b) const { return a == b; }
  bool operator()(const UpstreamTarget* a, const std::string& b) const { return a->pool_key == b; }
  bool operator()(const std::string& a, const UpstreamTarget* b) const { return a == b->pool_key; }
};

// Idle connections of this IO thread, by "agent\naddress"; newest at the back.
Idle& IdleOf(const UpstreamTarget& target) {
  thread_local std::unordered_map<std::string, Idle, PoolKeyHash, PoolKeyEqual> pool;
  auto it = pool.find(&target);
  if (it == pool.end()) {
    it = pool.emplace(target.pool_key, Idle()).first;
  }
  return it->second;
}

// Whether an idle connection was closed (or sent stray bytes) while pooled.
bool ClosedWhileIdle(tcp::socket& socket) {
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace

namespace {

void StartTimer(const std::shared_ptr<UpstreamConnection>& conn, core::TimePoint at) {
  const std::uint64_t generation = ++conn->generation;
  conn->timer_at = at;
  conn->timer.expires_at(at);
  conn->timer.async_wait([weak = std::weak_ptr<UpstreamConnection>(conn),
                          generation](const boost::system::error_code& ec) {
    auto c = weak.lock();
    if (ec || c == nullptr || c->generation != generation) {
      return;  // replaced by an earlier wait, or the connection is gone
    }
    c->timer_at = core::TimePoint::max();
    if (c->deadline == core::TimePoint::max()) {
      return;  // no exchange in progress
    }
    if (c->deadline > decltype(c->timer)::clock_type::now()) {
      StartTimer(c, c->deadline);  // the deadline moved on since this wait began
      return;
    }
    c->timed_out = true;
    boost::system::error_code ignored;
    c->socket.close(ignored);
  });
}

}  // namespace

void ArmDeadline(const std::shared_ptr<UpstreamConnection>& conn, core::TimePoint deadline) {
  conn->timed_out = false;
  conn->deadline = deadline;
  if (deadline < conn->timer_at) {
    StartTimer(conn, deadline);  // replaces (cancels) a later wait
  }
}

void DisarmDeadline(UpstreamConnection& conn) { conn.deadline = core::TimePoint::max(); }

std::shared_ptr<UpstreamConnection> TakeIdleUpstream(GatewayState& g,
                                                     const UpstreamTarget& instance,
                                                     core::TimePoint now) {
  Idle& idle = IdleOf(instance);
  while (!idle.empty()) {
    std::shared_ptr<UpstreamConnection> conn = std::move(idle.back());
    idle.pop_back();
    const core::Duration idle_for = now - conn->idle_since;
    if (idle_for >= g.options.idle_timeout ||
        (idle_for >= kProbeIdleAfter && ClosedWhileIdle(conn->socket))) {
      continue;  // closes on destruction
    }
    conn->reused = true;
    return conn;
  }
  return nullptr;
}

asio::awaitable<core::Result<std::shared_ptr<UpstreamConnection>>> ConnectUpstream(
    GatewayState& g, const UpstreamTarget& instance) {
  const core::TimePoint now = g.clock.Now();
  auto ex = co_await asio::this_coro::executor;
  auto conn = std::make_shared<UpstreamConnection>(ex);
  ArmDeadline(conn, now + g.options.connect_timeout);
  tcp::resolver resolver(ex);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(instance.host, instance.port, tcp::resolver::numeric_service,
                                      asio::as_tuple(asio::use_awaitable));
  boost::system::error_code ec = rec;
  if (!ec) {
    auto [cec, ep] =
        co_await asio::async_connect(conn->socket, endpoints, asio::as_tuple(asio::use_awaitable));
    ec = cec;
  }
  const bool timed_out = conn->timed_out;
  DisarmDeadline(*conn);
  if (ec || timed_out) {
    co_return core::Err(core::Unavailable(
        "upstream_unavailable", "Cannot connect to instance '" + instance.id + "' at " +
                                    instance.host + ":" + instance.port + ": " +
                                    (timed_out ? std::string("connect timed out") : ec.message()) +
                                    "."));
  }
  g.metrics.upstream_connects.Inc();
  boost::system::error_code ignored;
  conn->socket.set_option(tcp::no_delay(true), ignored);
  conn->socket.non_blocking(true, ignored);
  EnableInq(conn->socket);
  co_return conn;
}

void ReleaseUpstream(GatewayState& g, const UpstreamTarget& instance,
                     std::shared_ptr<UpstreamConnection> conn, core::TimePoint now) {
  if (!conn->socket.is_open() || conn->timed_out) {
    return;
  }
  conn->idle_since = now;
  conn->buffer.clear();
  Idle& idle = IdleOf(instance);
  // Oldest first: drop those past the idle timeout, and the oldest beyond the bulkhead size.
  std::size_t expired = 0;
  while (expired < idle.size() && now - idle[expired]->idle_since >= g.options.idle_timeout) {
    ++expired;
  }
  const auto cap = static_cast<std::size_t>(g.options.bulkhead.max_concurrent);
  if (idle.size() - expired >= cap) {
    expired = idle.size() - cap + 1;
  }
  idle.erase(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(expired));
  idle.push_back(std::move(conn));
}

}  // namespace agentmesh::server::internal
