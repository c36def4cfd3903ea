#include "agentmesh/server/health_checker.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agentmesh/client/http_client.h"

namespace agentmesh::server {

namespace asio = boost::asio;

namespace internal {

struct HealthCheckerState {
  HealthCheckerState(HealthCheckerOptions o, MembershipService& m, asio::any_io_executor ex)
      : options(o), membership(m), strand(asio::make_strand(ex)), timer(strand) {}
  HealthCheckerOptions options;
  MembershipService& membership;
  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;
  std::atomic<bool> stopped{false};
};

}  // namespace internal

namespace {

using internal::HealthCheckerState;
using Targets = std::vector<std::pair<std::string, std::string>>;

// Checks targets[*next...] one after another until none is left.
asio::awaitable<void> Worker(std::shared_ptr<HealthCheckerState> s,
                             std::shared_ptr<Targets> targets, std::shared_ptr<std::size_t> next) {
  while (*next < targets->size() && !s->stopped.load()) {
    const auto& [id, address] = (*targets)[(*next)++];
    client::HttpRequest req;
    req.target = "/health";
    auto result =
        co_await client::FetchOnce(s->strand, address, std::move(req), s->options.timeout);
    const bool ok = result && result->status >= 200 && result->status < 300;
    // The instance may have left meanwhile; that result is simply dropped.
    (void)s->membership.RecordCheck(id, ok);
  }
}

asio::awaitable<void> RunRoundOf(std::shared_ptr<HealthCheckerState> s) {
  auto targets = std::make_shared<Targets>(s->membership.CheckTargets());
  if (targets->empty()) {
    co_return;
  }
  auto next = std::make_shared<std::size_t>(0);
  const std::size_t workers =
      std::min(targets->size(), static_cast<std::size_t>(s->options.max_in_flight));
  auto remaining = std::make_shared<std::size_t>(workers);
  asio::steady_timer done(s->strand, asio::steady_timer::time_point::max());
  for (std::size_t i = 0; i < workers; ++i) {
    asio::co_spawn(s->strand, Worker(s, targets, next), [remaining, &done](std::exception_ptr) {
      if (--*remaining == 0) {
        done.cancel();
      }
    });
  }
  while (*remaining > 0) {
    co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

core::Status Validate(const HealthCheckerOptions& o) {
  if (o.interval <= core::Duration::zero() || o.timeout <= core::Duration::zero() ||
      o.timeout >= o.interval) {
    return core::InvalidArgument("invalid_health_check",
                                 "health check timeout must be positive and below the interval");
  }
  if (o.max_in_flight < 1) {
    return core::InvalidArgument("invalid_health_check", "max_in_flight must be at least 1");
  }
  return core::OkStatus();
}

HealthChecker::HealthChecker(HealthCheckerOptions options, MembershipService& membership,
                             asio::any_io_executor ex)
    : state_(std::make_shared<HealthCheckerState>(options, membership, std::move(ex))) {}

HealthChecker::~HealthChecker() { Stop(); }

asio::awaitable<void> HealthChecker::RunRound() { return RunRoundOf(state_); }

void HealthChecker::Start() {
  auto s = state_;
  s->stopped.store(false);
  asio::co_spawn(
      s->strand,
      [s]() -> asio::awaitable<void> {
        auto next = asio::steady_timer::clock_type::now() + s->options.interval;
        while (!s->stopped.load()) {
          s->timer.expires_at(next);
          auto [ec] = co_await s->timer.async_wait(asio::as_tuple(asio::use_awaitable));
          if (ec || s->stopped.load()) {
            break;
          }
          next += s->options.interval;
          co_await RunRoundOf(s);
          next = std::max(next, asio::steady_timer::clock_type::now());
        }
      },
      asio::detached);
}

void HealthChecker::Stop() {
  auto s = state_;
  if (s->stopped.exchange(true)) {
    return;
  }
  asio::post(s->strand, [s] { s->timer.cancel(); });
}

}  // namespace agentmesh::server
