// Gateway: agent-to-agent calls through the node.
//
// `/agents/{name}/{path...}` goes to a healthy instance of agent `name` (an instance id
// also works) and `/api/v1/{capability}/{path...}` to a healthy instance offering that
// capability (rules 8.3). Every call passes, in order: the caller's rate limit (GCRA),
// its call budget (deadline and depth headers, rules 9.1), the agent type's bulkhead
// with priority queues and shedding (9.1, 9.3), instance selection by the agent's load
// balancer (8.1) among instances whose circuit breaker admits a call (3.3), the upstream
// call over a pooled keep-alive connection, and retries with backoff within a retry
// budget (8.3). Every call is a span (10.1). See src/server/README.md, "Gateway".
//
// The routing table is rebuilt from MembershipService when its version changes and
// every `refresh_interval` (load samples move weights). Owned by the composition root;
// thread-safe; the HTTP server's connection threads call into it concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/event.h"
#include "agentmesh/core/status.h"
#include "agentmesh/observe/metrics.h"
#include "agentmesh/observe/trace_sampler.h"
#include "agentmesh/observe/trace_store.h"
#include "agentmesh/resilience/bulkhead.h"
#include "agentmesh/resilience/circuit_breaker.h"
#include "agentmesh/resilience/deadline.h"
#include "agentmesh/resilience/rate_limiter.h"
#include "agentmesh/resilience/retry.h"
#include "agentmesh/routing/load_weight.h"
#include "agentmesh/server/membership_service.h"
#include "agentmesh/server/router.h"

namespace agentmesh::server {

class OtlpExporter;
namespace internal {
struct GatewayState;
}  // namespace internal

// How an agent's instances are chosen (rules 8.1).
enum class BalancerKind {
  kWeightedRoundRobin,  // smooth WRR, weights from the latest load sample (default)
  kLeastConnections,    // fewest in-flight calls, weighted by health (long-running work)
  kConsistentHash,      // ring of virtual nodes over a request key (stateful work)
};

// Returns "weighted_round_robin", "least_connections" or "consistent_hashing".
std::string_view BalancerKindName(BalancerKind kind);

struct GatewayOptions {
  // Per-instance circuit breakers (rules 3.3, 6.3).
  resilience::CircuitBreakerOptions breaker;
  // Attempts, backoff, retryable statuses and the per-agent retry budget (8.3).
  resilience::RetryOptions retry;
  // Child-call margin and maximum call depth (9.1).
  resilience::DeadlineOptions deadline;
  // Per agent type: concurrent calls and the priority wait queue (9.1, 8.2, 9.3).
  resilience::BulkheadOptions bulkhead;
  // Per calling agent: requests per window (8.3: 100 per minute).
  resilience::RateLimitOptions rate_limit;
  // Weights from load samples (8.1: CPU 40%, memory 30%, queue depth 30%).
  routing::LoadWeightOptions load;
  // Head sampling and the always-keep rules (10.1).
  observe::TraceSamplingOptions sampling;
  // The balancer of agents not listed below (8.1: weighted round robin).
  BalancerKind default_balancer = BalancerKind::kWeightedRoundRobin;
  // Agents balanced by weighted round robin whatever the default.
  std::vector<std::string> weighted_round_robin_agents;
  // Agents balanced by least connections (8.1: long-running operations).
  std::vector<std::string> least_connections_agents;
  // Agents balanced by consistent hashing (8.1: stateful operations).
  std::vector<std::string> consistent_hash_agents;
  // Virtual nodes per instance on a hash ring (8.1: 150).
  int virtual_nodes = 150;
  // Header whose value is the consistent-hashing key; the correlation id when absent.
  std::string hash_header = "X-Correlation-ID";
  // Connecting to an upstream (8.3: 5s).
  core::Duration connect_timeout = std::chrono::seconds(5);
  // A whole call, response header included (8.3, 6.3: 30s).
  core::Duration request_timeout = std::chrono::seconds(30);
  // A whole call on a heavy route (6.3: 5m).
  core::Duration heavy_timeout = std::chrono::minutes(5);
  // Path prefixes (as the caller sends them, e.g. "/agents/trainer/train") that are heavy.
  std::vector<std::string> heavy_routes;
  // An idle pooled upstream connection is closed after this long (8.3: 60s).
  core::Duration idle_timeout = std::chrono::seconds(60);
  // Bodies up to this size are buffered (and so can be retried); larger ones stream.
  std::size_t buffer_limit = 64 * 1024;
  // Largest request body the gateway forwards; larger get 413 body_too_large.
  std::size_t max_body_bytes = 64 * 1024 * 1024;
  // Whether recovering instances receive calls (at half weight) when routing.
  bool route_to_recovering = false;
  // Load-sample weights are refreshed at least this often.
  core::Duration refresh_interval = std::chrono::seconds(1);
};

// Errors: kInvalidArgument naming the field.
core::Status Validate(const GatewayOptions& options);

class Gateway {
 public:
  // `membership`, `clock`, `metrics` and, when given, `traces`, `exporter` and `events`
  // must outlive the gateway.
  Gateway(GatewayOptions options, MembershipService& membership, core::Clock& clock,
          observe::Registry& metrics, observe::TraceStore* traces, OtlpExporter* exporter,
          core::EventSink* events);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Whether the gateway serves `path` (it starts with /agents/ or /api/v1/).
  static bool Serves(std::string_view path);

  // Every circuit breaker: {"circuits": [{"agent", "instance", "state", ...}]}.
  boost::json::object CircuitsJson() const;

  internal::GatewayState& state() { return *state_; }

 private:
  std::unique_ptr<internal::GatewayState> state_;
};

// Adds GET /v1/circuits.
void AddGatewayRoutes(Router& router, const Gateway& gateway);

}  // namespace agentmesh::server
