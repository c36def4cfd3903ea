// The gateway's routing table: per agent type its instances (address, weight, breaker,
// in-flight count), balancer state, bulkhead and retry budget, rebuilt from membership.
// Not a public API.
//
// Locking: RoutingTable::mu_ (shared) guards the maps; each AgentRoute::mu guards that
// route's instances, balancers, breakers and bulkhead. Never hold a route lock while
// taking the table lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agentmesh/core/adaptive_mutex.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/health/types.h"
#include "agentmesh/observe/metrics.h"
#include "agentmesh/resilience/bulkhead.h"
#include "agentmesh/resilience/circuit_breaker.h"
#include "agentmesh/resilience/retry.h"
#include "agentmesh/routing/consistent_hash_ring.h"
#include "agentmesh/routing/least_connections.h"
#include "agentmesh/routing/smooth_weighted_round_robin.h"
#include "agentmesh/server/gateway.h"

namespace agentmesh::server::internal {

// Hash and equality that let string maps be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Where an instance is reached; immutable and shared with calls in flight.
struct UpstreamTarget {
  std::string id;
  std::string agent;
  std::string host;
  std::string port;
  std::string pool_key;  // "agent\nhost:port": upstream pools are per agent type
  int phase = 0;
  std::size_t pool_hash = std::hash<std::string>{}(pool_key);  // so that no call hashes it
};

struct UpstreamInstance {
  std::string id;
  std::shared_ptr<const UpstreamTarget> target;  // null when the address is unusable
  health::HealthState state = health::HealthState::kHealthy;
  double weight = 1;         // effective, from the load sample
  double health_factor = 1;  // 1 healthy, 0.5 recovering, 0 not routable
  resilience::CircuitBreaker breaker;
  int in_flight = 0;
  std::uint64_t calls = 0;
  std::uint64_t failures = 0;
};

// A caller waiting in a bulkhead queue; the granting thread posts to its executor.
struct BulkheadWaiter {
  virtual ~BulkheadWaiter() = default;
  // Called with the route's lock held: `granted` true = the call may run now, false = shed.
  virtual void Wake(bool granted) = 0;
};

struct AgentRoute {
  AgentRoute(std::string agent_name, BalancerKind balancer, const GatewayOptions& options);

  const std::string name;
  const BalancerKind kind;
  resilience::RetryBudget budget;  // thread-safe on its own

  core::AdaptiveMutex mu;                   // every IO thread takes it two or three times per call
  std::vector<UpstreamInstance> instances;  // sorted by id; guarded by mu
  routing::SmoothWeightedRoundRobin wrr;
  routing::LeastConnections least;
  std::vector<routing::LeastConnectionsCandidate> least_candidates;
  routing::ConsistentHashRing ring;
  resilience::Bulkhead bulkhead;
  std::unordered_map<std::uint64_t, BulkheadWaiter*> waiters;
  std::uint64_t next_ticket = 1;

  // agentmesh_gateway_requests_total{agent, status}, resolved once per status.
  observe::Counter& Requests(observe::Family<observe::Counter>& family, int status);
  std::array<std::atomic<observe::Counter*>, 600> requests_by_status{};
};

// What an agent route can offer a call right now.
enum class PickFailure { kNone, kNoHealthy, kCircuitOpen };

struct Pick {
  int index = -1;  // into route.instances
  PickFailure failure = PickFailure::kNone;
};

// Picks an instance of `route` for a call (route.mu held): routable, breaker admitting,
// not in `avoid` unless nothing else is left; takes the breaker's admission and counts
// the call in flight. `hash` is the consistent-hashing key's hash.
Pick PickInstance(AgentRoute& route, core::TimePoint now, std::uint64_t hash,
                  const std::vector<std::string>& avoid);

class RoutingTable {
 public:
  RoutingTable(const GatewayOptions& options, MembershipService& membership, core::Clock& clock);

  // Returns the route of agent `name`, or of the agent owning instance id `name`, with
  // `instance_only` set to that instance's id in the second case. Null when unknown.
  // `now` is the caller's reading of the table's clock (a call reads it once).
  std::shared_ptr<AgentRoute> FindAgent(std::string_view name, std::string* instance_only,
                                        core::TimePoint now);
  // Returns the routes of agents offering `capability`, rotated for fairness.
  std::vector<std::shared_ptr<AgentRoute>> FindCapability(std::string_view capability,
                                                          core::TimePoint now);
  // Every route, for /v1/circuits.
  std::vector<std::shared_ptr<AgentRoute>> All();

  // Rebuilds from membership if it changed or the refresh interval passed by `now`.
  void MaybeRefresh(core::TimePoint now);

 private:
  void Rebuild();
  BalancerKind KindOf(const std::string& agent) const;

  const GatewayOptions& options_;
  MembershipService& membership_;
  core::Clock& clock_;
  std::atomic<std::uint64_t> built_version_{~0ull};
  std::atomic<std::int64_t> built_at_ns_{0};
  std::mutex rebuild_mu_;
  mutable std::shared_mutex mu_;
  StringMap<std::shared_ptr<AgentRoute>> agents_;     // guarded by mu_
  StringMap<std::string> instance_agent_;             // guarded by mu_
  StringMap<std::vector<std::string>> capabilities_;  // guarded by mu_
  std::atomic<std::uint64_t> capability_rotation_{0};
};

}  // namespace agentmesh::server::internal
