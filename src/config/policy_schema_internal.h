// The policy schema: for every section, its keys in file order with their bounds.
//
// One table drives parsing, dumping and the completeness test. A visitor V has
//   template <typename T, typename C = Unconstrained> void Field(key, T& value, C = {});
//   template <typename F> void Group(key, F body);
// Adding a key = a member with a default in the public header + one line here.
#pragma once

#include <chrono>
#include <cstdint>

#include "agentmesh/config/policy.h"

#include "config/yaml_reader_internal.h"

namespace agentmesh::config::internal {

using namespace std::chrono_literals;

inline constexpr Range<double> kFraction{0.0, 1.0};
inline constexpr std::uint64_t kKiB = 1ULL << 10;
inline constexpr std::uint64_t kGiB = 1ULL << 30;
inline constexpr std::uint64_t kPiB = 1ULL << 50;
// Bounds shared by many durations: a timer between 10ms and a day.
inline constexpr Range<core::Duration> kTimer = Between(10ms, 24h);

template <typename V>
void VisitPhases(PerPhase& s, V& v, Range<double> range) {
  v.Field("phase1", s.phase1, range);
  v.Field("phase2", s.phase2, range);
  v.Field("phase3", s.phase3, range);
}

template <typename V>
void Visit(CacheLevel& s, V& v) {
  v.Field("size", s.size_bytes, Sizes(0, kPiB));
  v.Field("ttl", s.ttl, Between(1ms, 24h));
}

template <typename V>
void Visit(Band& s, V& v) {
  v.Field("min", s.min, kFraction);
  v.Field("max", s.max, kFraction);
}

template <typename V>
void Visit(NodePolicy& s, V& v) {
  v.Field("id", s.id, Text::kIdOrEmpty);
  v.Field("listen", s.listen, Text::kHostPort);
  v.Field("data_dir", s.data_dir, Text::kNonEmpty);
  v.Field("io_threads", s.io_threads, Between(0, 1024));
  v.Field("max_body_bytes", s.max_body_bytes, Sizes(kKiB, kGiB));
  v.Field("log_level", s.log_level, Text::kLogLevel);
  v.Field("tick_interval", s.tick_interval, Between(10ms, 1min));
  v.Field("malloc_arena_max", s.malloc_arena_max, Between(0, 1024));
}

template <typename V>
void Visit(ConsensusPolicy& s, V& v) {
  v.Field("election_backoff_initial", s.election_backoff_initial, kTimer);
  v.Field("election_backoff_multiplier", s.election_backoff_multiplier, Between(1.0, 10.0));
  v.Field("election_backoff_max", s.election_backoff_max, kTimer);
  v.Field("session_renew_interval", s.session_renew_interval, kTimer);
  v.Field("session_ttl", s.session_ttl, kTimer);
  v.Field("graceful_handoff", s.graceful_handoff);
  v.Field("max_lock_hold", s.max_lock_hold, kTimer);
  v.Field("coordination_ttl", s.coordination_ttl, kTimer);
  v.Field("barrier_ttl", s.barrier_ttl, kTimer);
  v.Field("session_ttl_min", s.session_ttl_min, Between(1s, 24h));
  v.Field("session_ttl_max", s.session_ttl_max, Between(1s, 8760h));
  v.Field("max_wait", s.max_wait, Between(1ms, 1h));
}

template <typename V>
void Visit(QuorumPolicy& s, V& v) {
  v.Field("min_phase1_agents", s.min_phase1_agents, Between(1, 1000));
  v.Field("system_change_majority", s.system_change_majority, Between(0.5, 1.0));
  v.Field("security_approver", s.security_approver, Text::kId);
  v.Field("security_approval_required", s.security_approval_required);
}

template <typename V>
void Visit(HealthPolicy& s, V& v) {
  v.Field("check_interval", s.check_interval, kTimer);
  v.Field("check_timeout", s.check_timeout, kTimer);
  v.Field("failure_threshold", s.failure_threshold, Between(1, 100));
  v.Field("recovery_confirmations", s.recovery_confirmations, Between(1, 100));
  v.Field("rolling_update_interval", s.rolling_update_interval, kTimer);
  v.Field("history_limit", s.history_limit, Between(1, 10000));
  v.Field("left_retention", s.left_retention, Between(0s, 720h));
  v.Group("availability_floor", [&] { VisitPhases(s.availability_floor, v, kFraction); });
}

template <typename V>
void Visit(ConsistencyPolicy::Levels& s, V& v) {
  v.Field("configuration", s.configuration);
  v.Field("security_policies", s.security_policies);
  v.Field("resource_allocation", s.resource_allocation);
  v.Field("metrics", s.metrics);
  v.Field("logs", s.logs);
  v.Field("agent_status", s.agent_status);
  v.Field("task_dependencies", s.task_dependencies);
  v.Field("event_chains", s.event_chains);
  v.Field("workflow_state", s.workflow_state);
}

template <typename V>
void Visit(ConsistencyPolicy::Conflicts& s, V& v) {
  v.Field("metrics", s.metrics);
  v.Field("status", s.status);
  v.Field("configuration", s.configuration);
  v.Field("access_control", s.access_control);
  v.Field("resource_limits", s.resource_limits);
  v.Field("security_policies", s.security_policies);
  v.Field("resource_allocation", s.resource_allocation);
  v.Field("task_priority", s.task_priority);
}

template <typename V>
void Visit(ConsistencyPolicy& s, V& v) {
  v.Field("convergence_window", s.convergence_window, kTimer);
  v.Group("levels", [&] { Visit(s.levels, v); });
  v.Group("conflicts", [&] { Visit(s.conflicts, v); });
}

template <typename V>
void Visit(PartitionPolicy& s, V& v) {
  v.Field("heartbeat_timeout", s.heartbeat_timeout, kTimer);
  v.Field("quorum_loss_detection", s.quorum_loss_detection, Between(0s, 1h));
  v.Field("split_brain_detection", s.split_brain_detection, kTimer);
  v.Field("reconciliation_window", s.reconciliation_window, kTimer);
  v.Field("minority_read_only", s.minority_read_only);
  v.Field("minority_accepts_tasks", s.minority_accepts_tasks);
  v.Field("queue_minority_writes", s.queue_minority_writes);
  v.Field("auto_merge", s.auto_merge);
}

template <typename V>
void Visit(CircuitBreakerPolicy& s, V& v) {
  v.Field("failure_threshold", s.failure_threshold, Between(1, 1000));
  v.Field("recovery_timeout", s.recovery_timeout, kTimer);
  v.Field("half_open_max_calls", s.half_open_max_calls, Between(1, 1000));
}

template <typename V>
void Visit(TransactionsPolicy& s, V& v) {
  v.Field("two_phase_commit_timeout", s.two_phase_commit_timeout, kTimer);
  v.Field("event_retention", s.event_retention, Between(1h, 87600h));
  v.Field("snapshot_every_events", s.snapshot_every_events, Between(1, 1000000));
}

template <typename V>
void Visit(LocksPolicy& s, V& v) {
  v.Field("timeout", s.timeout, kTimer);
  v.Field("auto_renewal", s.auto_renewal);
  v.Field("renewal_interval", s.renewal_interval, kTimer);
  v.Field("max_renewals", s.max_renewals, Between(0, 100000));
  v.Field("ordered_acquisition", s.ordered_acquisition);
  v.Field("hierarchy", s.hierarchy, PossiblyEmpty{Text::kLockName});
}

template <typename V>
void Visit(EventBusPolicy& s, V& v) {
  v.Field("critical_delivery", s.critical_delivery);
  v.Field("telemetry_delivery", s.telemetry_delivery);
  v.Field("read_block", s.read_block, Between(0s, 1min));
  v.Field("ordered", s.ordered);
}

template <typename V>
void Visit(ContractsPolicy& s, V& v) {
  v.Field("endpoint_timeout", s.endpoint_timeout, kTimer);
  v.Field("endpoint_retries", s.endpoint_retries, Between(0, 100));
  v.Field("default_version", s.default_version, Text::kSemver);
  v.Field("require_same_major", s.require_same_major);
}

template <typename V>
void Visit(CommunicationPolicy& s, V& v) {
  v.Field("sync_timeout", s.sync_timeout, kTimer);
  v.Field("heavy_timeout", s.heavy_timeout, kTimer);
  v.Field("dead_letter_after_retries", s.dead_letter_after_retries, Between(0, 100));
  v.Field("ack_after_processing", s.ack_after_processing);
  v.Field("discovery_cache_ttl", s.discovery_cache_ttl, Between(0s, 1h));
  v.Field("deregister_on_shutdown", s.deregister_on_shutdown);
}

template <typename V>
void Visit(CachePolicy& s, V& v) {
  v.Group("l1", [&] { Visit(s.l1, v); });
  v.Group("l2", [&] { Visit(s.l2, v); });
  v.Group("l3", [&] { Visit(s.l3, v); });
  v.Field("invalidation", s.invalidation);
  v.Group("warming", [&] {
    v.Field("predictive_interval", s.warming.predictive_interval, Between(1s, 24h));
    v.Field("scheduled_at", s.warming.scheduled_at);
    v.Field("reactive_limit", s.warming.reactive_limit, Between(0, 10000));
  });
}

template <typename V>
void Visit(LoadBalancingPolicy& s, V& v) {
  v.Field("cpu_weight", s.cpu_weight, kFraction);
  v.Field("memory_weight", s.memory_weight, kFraction);
  v.Field("queue_weight", s.queue_weight, kFraction);
  v.Field("virtual_nodes", s.virtual_nodes, Between(1, 10000));
  v.Field("default_algorithm", s.default_algorithm);
  v.Field("long_running_algorithm", s.long_running_algorithm);
  v.Field("stateful_algorithm", s.stateful_algorithm);
  v.Field("long_running_agents", s.long_running_agents, PossiblyEmpty{Text::kId});
  v.Field("stateful_agents", s.stateful_agents, PossiblyEmpty{Text::kId});
  v.Field("hash_header", s.hash_header, Text::kHeaderName);
  v.Field("queue_saturation", s.queue_saturation, Between(1.0, 1e9));
  v.Field("min_weight_fraction", s.min_weight_fraction, Between(0.001, 1.0));
}

template <typename V>
void Visit(TrafficPolicy& s, V& v) {
  v.Field("rate_limit_requests", s.rate_limit_requests, Between(1, 1000000000));
  v.Field("rate_limit_window", s.rate_limit_window, Between(1s, 24h));
  v.Field("max_queue_depth", s.max_queue_depth, Between(1, 10000000));
  v.Field("retry_attempts", s.retry_attempts, Between(1, 100));
  v.Field("retry_backoff", s.retry_backoff);
  v.Field("retry_base_delay", s.retry_base_delay, Between(1ms, 1h));
  v.Field("retry_max_delay", s.retry_max_delay, Between(1ms, 1h));
  v.Field("retry_on", s.retry_on, Between(100, 599));
  v.Field("connect_timeout", s.connect_timeout, kTimer);
  v.Field("request_timeout", s.request_timeout, kTimer);
  v.Field("idle_timeout", s.idle_timeout, kTimer);
  v.Field("rate_limit_burst", s.rate_limit_burst, Between(0, 1000000000));
  v.Field("retry_budget_ratio", s.retry_budget_ratio, kFraction);
  v.Field("retry_min_concurrency", s.retry_min_concurrency, Between(0, 100000));
  v.Field("heavy_routes", s.heavy_routes, PossiblyEmpty{Text::kPathPrefix});
  v.Field("buffer_limit", s.buffer_limit, Sizes(kKiB, kGiB));
  v.Field("max_body_bytes", s.max_body_bytes, Sizes(kKiB, 1ULL << 40));
  v.Field("route_to_recovering", s.route_to_recovering);
}

template <typename V>
void Visit(ServiceMeshPolicy& s, V& v) {
  v.Field("add_correlation_ids", s.add_correlation_ids);
  v.Field("correlation_header", s.correlation_header, Text::kId);
  v.Field("prometheus_metrics", s.prometheus_metrics);
  v.Field("jwt_validation", s.jwt_validation);
}

template <typename V>
void Visit(IsolationPolicy& s, V& v) {
  v.Field("child_timeout_margin", s.child_timeout_margin, Between(0s, 1h));
  v.Field("max_call_depth", s.max_call_depth, Between(1, 100));
  v.Field("bulkhead_max_concurrent", s.bulkhead_max_concurrent, Between(1, 100000));
  v.Field("isolate_phases", s.isolate_phases);
}

template <typename V>
void Visit(FailureDetectionPolicy& s, V& v) {
  v.Field("phi_threshold", s.phi_threshold, Between(1.0, 100.0));
  v.Field("window_size", s.window_size, Between(2, 10000));
  v.Field("min_std_deviation", s.min_std_deviation, Between(1ms, 1min));
  v.Field("acceptable_heartbeat_pause", s.acceptable_heartbeat_pause, Between(0s, 1h));
  v.Field("heartbeat_interval", s.heartbeat_interval, Between(10ms, 1min));
  v.Field("missed_heartbeats", s.missed_heartbeats, Between(1, 100));
}

template <typename V>
void Visit(DegradationPolicy& s, V& v) {
  v.Field("shed_threshold", s.shed_threshold, kFraction);
  v.Field("low_priority_shed_threshold", s.low_priority_shed_threshold, kFraction);
  v.Field("cache_ttl_multiplier", s.cache_ttl_multiplier, Between(1.0, 100.0));
  v.Field("serve_cached_on_overload", s.serve_cached_on_overload);
}

template <typename V>
void Visit(TracingPolicy& s, V& v) {
  v.Field("sampling_rate", s.sampling_rate, kFraction);
  v.Field("slow_threshold", s.slow_threshold, kTimer);
  v.Field("always_sample_errors", s.always_sample_errors);
  v.Field("max_recent_traces", s.max_recent_traces, Between(0, 1000000));
  v.Field("otlp_endpoint", s.otlp_endpoint, Text::kHttpUrlOrEmpty);
  v.Field("service_name", s.service_name, Text::kNonEmpty);
}

template <typename V>
void Visit(DebugPolicy& s, V& v) {
  v.Field("recent_log_lines", s.recent_log_lines, Between(0, 1000000));
  v.Field("endpoints_enabled", s.endpoints_enabled);
}

template <typename V>
void Visit(SlaPolicy& s, V& v) {
  v.Group("availability", [&] { VisitPhases(s.availability, v, kFraction); });
  v.Group("latency", [&] {
    v.Field("p50", s.latency.p50, Between(1us, 1h));
    v.Field("p95", s.latency.p95, Between(1us, 1h));
    v.Field("p99", s.latency.p99, Between(1us, 1h));
  });
  v.Group("cpu", [&] { Visit(s.cpu, v); });
  v.Group("memory", [&] { Visit(s.memory, v); });
  v.Field("network_max", s.network_max, kFraction);
}

template <typename V>
void Visit(StoragePolicy& s, V& v) {
  v.Field("membership", s.membership);
  v.Group("embedded", [&] { v.Field("max_batch", s.embedded_max_batch, Between(1, 100000)); });
  v.Group("coordination", [&] {
    v.Field("backend", s.coordination);
    v.Field("endpoints", s.etcd_endpoints, Text::kHttpUrl);
    v.Field("prefix", s.etcd_prefix, Text::kPathPrefix);
    v.Field("request_timeout", s.etcd_request_timeout, Between(1ms, 1h));
  });
}

// Visits every section in file order.
template <typename V>
void VisitPolicy(Policy& p, V& v) {
  v.Group("node", [&] { Visit(p.node, v); });
  v.Group("consensus", [&] { Visit(p.consensus, v); });
  v.Group("quorum", [&] { Visit(p.quorum, v); });
  v.Group("health", [&] { Visit(p.health, v); });
  v.Group("consistency", [&] { Visit(p.consistency, v); });
  v.Group("partition", [&] { Visit(p.partition, v); });
  v.Group("circuit_breaker", [&] { Visit(p.circuit_breaker, v); });
  v.Group("transactions", [&] { Visit(p.transactions, v); });
  v.Group("locks", [&] { Visit(p.locks, v); });
  v.Group("event_bus", [&] { Visit(p.event_bus, v); });
  v.Group("contracts", [&] { Visit(p.contracts, v); });
  v.Group("communication", [&] { Visit(p.communication, v); });
  v.Group("cache", [&] { Visit(p.cache, v); });
  v.Group("load_balancing", [&] { Visit(p.load_balancing, v); });
  v.Group("traffic", [&] { Visit(p.traffic, v); });
  v.Group("service_mesh", [&] { Visit(p.service_mesh, v); });
  v.Group("isolation", [&] { Visit(p.isolation, v); });
  v.Group("failure_detection", [&] { Visit(p.failure_detection, v); });
  v.Group("degradation", [&] { Visit(p.degradation, v); });
  v.Group("tracing", [&] { Visit(p.tracing, v); });
  v.Group("debug", [&] { Visit(p.debug, v); });
  v.Group("sla", [&] { Visit(p.sla, v); });
  v.Group("storage", [&] { Visit(p.storage, v); });
}

}  // namespace agentmesh::config::internal
