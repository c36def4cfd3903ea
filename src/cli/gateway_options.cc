#include "cli/gateway_options.h"

namespace agentmesh::cli {
namespace {

server::BalancerKind ToBalancer(config::LoadBalancingAlgorithm a) {
  switch (a) {
    case config::LoadBalancingAlgorithm::kWeightedRoundRobin:
      return server::BalancerKind::kWeightedRoundRobin;
    case config::LoadBalancingAlgorithm::kLeastConnections:
      return server::BalancerKind::kLeastConnections;
    case config::LoadBalancingAlgorithm::kConsistentHashing:
      return server::BalancerKind::kConsistentHash;
  }
  return server::BalancerKind::kWeightedRoundRobin;
}

}  // namespace

server::GatewayOptions ToGatewayOptions(const config::Policy& p) {
  server::GatewayOptions o;
  o.breaker.failure_threshold = p.circuit_breaker.failure_threshold;
  o.breaker.recovery_timeout = p.circuit_breaker.recovery_timeout;
  o.breaker.half_open_max_calls = p.circuit_breaker.half_open_max_calls;

  o.retry.max_attempts = p.traffic.retry_attempts;
  o.retry.base_delay = p.traffic.retry_base_delay;
  o.retry.max_delay = p.traffic.retry_max_delay;
  o.retry.retry_on = p.traffic.retry_on;
  o.retry.budget_ratio = p.traffic.retry_budget_ratio;
  o.retry.min_retry_concurrency = p.traffic.retry_min_concurrency;

  o.deadline.child_timeout_margin = p.isolation.child_timeout_margin;
  o.deadline.max_call_depth = p.isolation.max_call_depth;

  o.bulkhead.max_concurrent = p.isolation.bulkhead_max_concurrent;
  o.bulkhead.max_queue = p.traffic.max_queue_depth;
  o.bulkhead.low_shed_fraction = p.degradation.low_priority_shed_threshold;
  o.bulkhead.normal_shed_fraction = p.degradation.shed_threshold;

  o.rate_limit.requests = p.traffic.rate_limit_requests;
  o.rate_limit.window = p.traffic.rate_limit_window;
  o.rate_limit.burst = p.traffic.rate_limit_burst;

  o.load.cpu_weight = p.load_balancing.cpu_weight;
  o.load.memory_weight = p.load_balancing.memory_weight;
  o.load.queue_weight = p.load_balancing.queue_weight;
  o.load.queue_saturation = p.load_balancing.queue_saturation;
  o.load.min_fraction = p.load_balancing.min_weight_fraction;

  o.sampling.sampling_rate = p.tracing.sampling_rate;
  o.sampling.slow_threshold = p.tracing.slow_threshold;
  o.sampling.always_sample_errors = p.tracing.always_sample_errors;

  o.default_balancer = ToBalancer(p.load_balancing.default_algorithm);
  const server::BalancerKind long_running = ToBalancer(p.load_balancing.long_running_algorithm);
  const server::BalancerKind stateful = ToBalancer(p.load_balancing.stateful_algorithm);
  for (const auto& [agents, kind] : {std::pair{&p.load_balancing.long_running_agents, long_running},
                                     std::pair{&p.load_balancing.stateful_agents, stateful}}) {
    auto& target = kind == server::BalancerKind::kConsistentHash ? o.consistent_hash_agents
                   : kind == server::BalancerKind::kLeastConnections
                       ? o.least_connections_agents
                       : o.weighted_round_robin_agents;
    target.insert(target.end(), agents->begin(), agents->end());
  }
  o.virtual_nodes = p.load_balancing.virtual_nodes;
  o.hash_header = p.load_balancing.hash_header;

  o.connect_timeout = p.traffic.connect_timeout;
  o.request_timeout = p.traffic.request_timeout;
  o.heavy_timeout = p.communication.heavy_timeout;
  o.heavy_routes = p.traffic.heavy_routes;
  o.idle_timeout = p.traffic.idle_timeout;
  o.buffer_limit = p.traffic.buffer_limit;
  o.max_body_bytes = p.traffic.max_body_bytes;
  o.route_to_recovering = p.traffic.route_to_recovering;
  return o;
}

}  // namespace agentmesh::cli
