// The gateway's routing table, rebuilt from membership (see gateway_table.h).
#include "server/gateway_table.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "agentmesh/routing/load_weight.h"

namespace agentmesh::server::internal {
namespace {

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Splits "host:port" (an IPv6 host in brackets); false when malformed.
bool SplitAddress(const std::string& address, std::string& host, std::string& port) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return false;
  }
  host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  port = address.substr(colon + 1);
  return true;
}

double HealthFactor(health::HealthState state, bool route_to_recovering) {
  switch (state) {
    case health::HealthState::kHealthy:
      return 1.0;
    case health::HealthState::kRecovering:
      return route_to_recovering ? 0.5 : 0.0;
    default:
      return 0.0;
  }
}

}  // namespace

AgentRoute::AgentRoute(std::string agent_name, BalancerKind balancer, const GatewayOptions& options)
    : name(std::move(agent_name)),
      kind(balancer),
      budget(options.retry.budget_ratio, options.retry.min_retry_concurrency),
      bulkhead(options.bulkhead) {}

observe::Counter& AgentRoute::Requests(observe::Family<observe::Counter>& family, int status) {
  if (status < 0 || status >= static_cast<int>(requests_by_status.size())) {
    status = 0;
  }
  auto& slot = requests_by_status[static_cast<std::size_t>(status)];
  observe::Counter* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {
    c = &family.WithLabels({name, std::to_string(status)});
    slot.store(c, std::memory_order_release);
  }
  return *c;
}

Pick PickInstance(AgentRoute& route, core::TimePoint now, std::uint64_t hash,
                  const std::vector<std::string>& avoid) {
  auto& instances = route.instances;
  bool any_routable = false;
  const auto usable = [&](int i, bool honour_avoid) {
    const UpstreamInstance& u = instances[static_cast<std::size_t>(i)];
    if (u.health_factor <= 0) {
      return false;
    }
    any_routable = true;
    if (!u.breaker.WouldAllow(now)) {
      return false;
    }
    return !honour_avoid || !Contains(avoid, u.id);
  };
  int index = -1;
  for (const bool honour_avoid : {true, false}) {
    const auto eligible = [&](int i) { return usable(i, honour_avoid); };
    switch (route.kind) {
      case BalancerKind::kWeightedRoundRobin:
        index = route.wrr.Pick(eligible);
        break;
      case BalancerKind::kLeastConnections:
        for (std::size_t i = 0; i < instances.size(); ++i) {
          route.least_candidates[i] = {instances[i].in_flight, instances[i].health_factor};
        }
        index = route.least.Pick(
            std::span<const routing::LeastConnectionsCandidate>(route.least_candidates), eligible);
        break;
      case BalancerKind::kConsistentHash:
        index = route.ring.Lookup(hash, eligible);
        break;
    }
    if (index >= 0 || avoid.empty()) {
      break;
    }
  }
  if (index < 0) {
    return {-1, any_routable ? PickFailure::kCircuitOpen : PickFailure::kNoHealthy};
  }
  UpstreamInstance& chosen = instances[static_cast<std::size_t>(index)];
  if (!chosen.breaker.Allow(now)) {
    return {-1, PickFailure::kCircuitOpen};
  }
  ++chosen.in_flight;
  ++chosen.calls;
  return {index, PickFailure::kNone};
}

RoutingTable::RoutingTable(const GatewayOptions& options, MembershipService& membership,
                           core::Clock& clock)
    : options_(options), membership_(membership), clock_(clock) {}

BalancerKind RoutingTable::KindOf(const std::string& agent) const {
  if (Contains(options_.consistent_hash_agents, agent)) {
    return BalancerKind::kConsistentHash;
  }
  if (Contains(options_.least_connections_agents, agent)) {
    return BalancerKind::kLeastConnections;
  }
  if (Contains(options_.weighted_round_robin_agents, agent)) {
    return BalancerKind::kWeightedRoundRobin;
  }
  return options_.default_balancer;
}

void RoutingTable::MaybeRefresh(core::TimePoint now) {
  const std::int64_t now_ns = now.time_since_epoch().count();
  const bool stale_version =
      membership_.version() != built_version_.load(std::memory_order_acquire);
  const bool stale_weights =
      now_ns - built_at_ns_.load(std::memory_order_relaxed) >= options_.refresh_interval.count();
  if (!stale_version && !stale_weights) {
    return;
  }
  std::unique_lock lock(rebuild_mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    if (!stale_version) {
      return;  // another thread refreshes weights; the current table is fine meanwhile
    }
    lock.lock();
    if (membership_.version() == built_version_.load(std::memory_order_acquire)) {
      return;
    }
  }
  Rebuild();
}

void RoutingTable::Rebuild() {
  const std::uint64_t version = membership_.version();
  const std::vector<health::InstanceView> views = membership_.List({});
  std::map<std::string, std::vector<const health::InstanceView*>> by_agent;
  StringMap<std::vector<std::string>> capabilities;
  StringMap<std::string> instance_agent;
  for (const auto& v : views) {
    if (v.state == health::HealthState::kLeft) {
      continue;
    }
    by_agent[v.spec.agent].push_back(&v);
    instance_agent[v.spec.id] = v.spec.agent;
    for (const auto& c : v.spec.capabilities) {
      auto& agents = capabilities[c];
      if (!Contains(agents, v.spec.agent)) {
        agents.push_back(v.spec.agent);
      }
    }
  }
  for (auto& [cap, agents] : capabilities) {
    std::sort(agents.begin(), agents.end());
  }

  StringMap<std::shared_ptr<AgentRoute>> agents;
  {
    std::shared_lock lock(mu_);
    agents = agents_;
  }
  StringMap<std::shared_ptr<AgentRoute>> next;
  for (const auto& [agent, members] : by_agent) {
    auto it = agents.find(agent);
    std::shared_ptr<AgentRoute> route =
        it != agents.end() ? it->second
                           : std::make_shared<AgentRoute>(agent, KindOf(agent), options_);
    std::lock_guard route_lock(route->mu);
    std::vector<UpstreamInstance> updated;
    updated.reserve(members.size());
    bool same_ids = route->instances.size() == members.size();
    for (std::size_t i = 0; same_ids && i < members.size(); ++i) {
      same_ids = route->instances[i].id == members[i]->spec.id;
    }
    for (std::size_t i = 0; i < members.size(); ++i) {
      const health::InstanceView& v = *members[i];
      UpstreamInstance u;
      auto old = std::find_if(route->instances.begin(), route->instances.end(),
                              [&](const UpstreamInstance& o) { return o.id == v.spec.id; });
      if (old != route->instances.end()) {
        u = std::move(*old);
      } else {
        u.id = v.spec.id;
        u.breaker = resilience::CircuitBreaker(options_.breaker);
      }
      u.state = v.state;
      std::string host;
      std::string port;
      const bool addressable = SplitAddress(v.spec.address, host, port);
      if (!addressable) {
        u.target = nullptr;
      } else if (u.target == nullptr || u.target->host != host || u.target->port != port ||
                 u.target->phase != v.spec.phase) {
        u.target = std::make_shared<const UpstreamTarget>(UpstreamTarget{
            v.spec.id, agent, host, port, agent + '\n' + v.spec.address, v.spec.phase});
      }
      u.health_factor = addressable ? HealthFactor(v.state, options_.route_to_recovering) : 0.0;
      const health::LoadSample load = v.load.value_or(health::LoadSample{});
      u.weight = routing::EffectiveWeight(options_.load, v.spec.weight, load.cpu, load.memory,
                                          load.queue_depth) *
                 (u.health_factor > 0 ? u.health_factor : 1.0);
      updated.push_back(std::move(u));
    }
    // List() is ordered by id, so indices are stable while membership is.
    route->instances = std::move(updated);
    std::vector<double> weights;
    weights.reserve(route->instances.size());
    for (const auto& u : route->instances) {
      weights.push_back(u.weight);
    }
    route->wrr.SetWeights(weights);
    route->least_candidates.resize(route->instances.size());
    if (!same_ids || route->ring.size() != route->instances.size()) {
      std::vector<std::string> ids;
      ids.reserve(route->instances.size());
      for (const auto& u : route->instances) {
        ids.push_back(u.id);
      }
      route->ring.Build(ids, options_.virtual_nodes);
    }
    next.emplace(agent, std::move(route));
  }
  {
    std::unique_lock lock(mu_);
    agents_ = std::move(next);
    capabilities_ = std::move(capabilities);
    instance_agent_ = std::move(instance_agent);
  }
  built_version_.store(version, std::memory_order_release);
  built_at_ns_.store(clock_.Now().time_since_epoch().count(), std::memory_order_relaxed);
}

std::shared_ptr<AgentRoute> RoutingTable::FindAgent(std::string_view name,
                                                    std::string* instance_only,
                                                    core::TimePoint now) {
  MaybeRefresh(now);
  std::shared_lock lock(mu_);
  if (auto it = agents_.find(name); it != agents_.end()) {
    return it->second;
  }
  if (auto it = instance_agent_.find(name); it != instance_agent_.end()) {
    if (auto route = agents_.find(it->second); route != agents_.end()) {
      *instance_only = std::string(name);
      return route->second;
    }
  }
  return nullptr;
}

std::vector<std::shared_ptr<AgentRoute>> RoutingTable::FindCapability(std::string_view capability,
                                                                      core::TimePoint now) {
  MaybeRefresh(now);
  std::vector<std::shared_ptr<AgentRoute>> out;
  std::shared_lock lock(mu_);
  auto it = capabilities_.find(capability);
  if (it == capabilities_.end()) {
    return out;
  }
  const std::size_t n = it->second.size();
  const std::size_t start = capability_rotation_.fetch_add(1, std::memory_order_relaxed) % n;
  for (std::size_t k = 0; k < n; ++k) {
    if (auto route = agents_.find(it->second[(start + k) % n]); route != agents_.end()) {
      out.push_back(route->second);
    }
  }
  return out;
}

std::vector<std::shared_ptr<AgentRoute>> RoutingTable::All() {
  MaybeRefresh(clock_.Now());
  std::vector<std::shared_ptr<AgentRoute>> out;
  std::shared_lock lock(mu_);
  for (const auto& [name, route] : agents_) {
    out.push_back(route);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->name < b->name; });
  return out;
}

}  // namespace agentmesh::server::internal
