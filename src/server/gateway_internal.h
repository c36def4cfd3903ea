// The gateway's shared state and its upstream connections. Not a public API.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/event.h"
#include "agentmesh/observe/metrics.h"
#include "agentmesh/observe/trace_sampler.h"
#include "agentmesh/observe/trace_store.h"
#include "agentmesh/resilience/rate_limiter.h"
#include "agentmesh/server/gateway.h"
#include "agentmesh/server/otlp_exporter.h"

#include "server/gateway_table.h"

namespace agentmesh::server::internal {

// Why the gateway answered a call itself; the `reason` label of
// agentmesh_gateway_rejections_total.
enum class Rejection {
  kRateLimited,
  kCallDepthExceeded,
  kDeadlineExceeded,
  kBulkheadFull,
  kShed,
  kCircuitOpen,
  kNoHealthyInstance,
  kUnknownAgent,
  kUpstreamFailed,
  kUpstreamTimeout,
  kBadRequest,
  kCount,
};

struct GatewayMetrics {
  explicit GatewayMetrics(observe::Registry& r);

  // The requests counter of `agent` and `status`, cached after the first use.
  observe::Counter& Requests(const std::string& agent, int status);

  observe::Family<observe::Counter>& requests;
  observe::Histogram& duration;
  observe::Histogram& upstream_duration;
  observe::Family<observe::Counter>& retries;
  std::array<observe::Counter*, static_cast<int>(Rejection::kCount)> rejections{};
  observe::Family<observe::Counter>& transitions;
  observe::Counter& spans_kept;
  observe::Counter& upstream_connects;
};

// One pooled keep-alive connection to an upstream instance, used by one exchange at a
// time on the IO thread that created it.
struct UpstreamConnection {
  explicit UpstreamConnection(boost::asio::any_io_executor ex) : socket(ex), timer(ex) {}
  boost::asio::ip::tcp::socket socket;
  boost::asio::steady_timer timer;  // fires at or before `deadline`, see ArmDeadline
  boost::beast::flat_buffer buffer;
  core::TimePoint idle_since{};
  core::TimePoint deadline = core::TimePoint::max();  // of the current exchange; max when none
  core::TimePoint timer_at = core::TimePoint::max();  // when the armed timer fires; max: unarmed
  std::uint64_t generation = 0;  // bumped per arming, so a replaced timer's wait does nothing
  bool timed_out = false;
  bool reused = false;
};

struct GatewayState {
  GatewayState(GatewayOptions options, MembershipService& membership, core::Clock& clock,
               observe::Registry& metrics, observe::TraceStore* traces, OtlpExporter* exporter,
               core::EventSink* events);

  // Reports a breaker that changed state from `from`: log line, metric, event.
  void OnBreakerTransition(const std::string& agent, const UpstreamInstance& instance,
                           resilience::CircuitState from);
  void Reject(Rejection reason) { metrics.rejections[static_cast<int>(reason)]->Inc(); }

  const GatewayOptions options;
  core::Clock& clock;
  RoutingTable table;
  resilience::KeyedRateLimiter limiter;
  observe::TraceSampler sampler;
  observe::TraceStore* traces;
  OtlpExporter* exporter;
  core::EventSink* events;
  GatewayMetrics metrics;
};

// Takes an idle connection to `instance` from this thread's pool; null when none is left.
std::shared_ptr<UpstreamConnection> TakeIdleUpstream(GatewayState& g,
                                                     const UpstreamTarget& instance,
                                                     core::TimePoint now);
// Opens a connection to `instance` within connect_timeout.
// Errors: kUnavailable "upstream_unavailable".
boost::asio::awaitable<core::Result<std::shared_ptr<UpstreamConnection>>> ConnectUpstream(
    GatewayState& g, const UpstreamTarget& instance);
// Returns a connection whose exchange completed cleanly, at `now`, to this thread's pool.
void ReleaseUpstream(GatewayState& g, const UpstreamTarget& instance,
                     std::shared_ptr<UpstreamConnection> conn, core::TimePoint now);
// Sets `conn`'s deadline: at `deadline` the socket closes and `timed_out` is set. The
// timer is lazy: it is re-armed only when the new deadline is earlier than the one it
// waits for, and a wait that ends before the current deadline re-arms itself, so that
// back-to-back exchanges with growing deadlines cost no timer operation at all.
void ArmDeadline(const std::shared_ptr<UpstreamConnection>& conn, core::TimePoint deadline);
// Clears the deadline; a pending wait then ends without effect.
void DisarmDeadline(UpstreamConnection& conn);

}  // namespace agentmesh::server::internal
