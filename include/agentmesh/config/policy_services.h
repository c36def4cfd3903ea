// Policy sections for services and traffic: contracts, communication, caching,
// load balancing, traffic, the service mesh, isolation, failure detection,
// degradation, tracing, debugging and SLAs (rules sections 6-10 and Monitoring).
//
// Owned by the config module. Plain values: default member initializers are the
// rules' values (each comment cites the rule); "ours" marks a knob the rules imply
// but do not number. Safe to copy and share read-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agentmesh/config/policy_values.h"
#include "agentmesh/core/clock.h"

namespace agentmesh::config {

// Agent API contracts (rules 6.2).
struct ContractsPolicy {
  // Default deadline of a contract endpoint (6.2: timeout 30).
  core::Duration endpoint_timeout = std::chrono::seconds(30);
  // Default retries of a contract endpoint (6.2: retries 3).
  int endpoint_retries = 3;
  // Version given to a contract that states none (6.2: "1.0.0").
  std::string default_version = "1.0.0";
  // Whether compatible versions must share the major number (6.2).
  bool require_same_major = true;
  friend bool operator==(const ContractsPolicy&, const ContractsPolicy&) = default;
};

// Synchronous and asynchronous calls and discovery (rules 6.3). The breaker
// threshold of 6.3 is circuit_breaker.failure_threshold; its health check interval is
// health.check_interval.
struct CommunicationPolicy {
  // Deadline of a normal synchronous call (6.3: 30s).
  core::Duration sync_timeout = std::chrono::seconds(30);
  // Deadline of a heavy synchronous call (6.3: 5m).
  core::Duration heavy_timeout = std::chrono::minutes(5);
  // Deliveries retried before a message goes to the dead letter queue (6.3: 3).
  int dead_letter_after_retries = 3;
  // Whether queue messages are acknowledged only after processing (6.3).
  bool ack_after_processing = true;
  // How long discovery results are cached (6.3: 30s).
  core::Duration discovery_cache_ttl = std::chrono::seconds(30);
  // Whether agents are deregistered on graceful shutdown (6.3).
  bool deregister_on_shutdown = true;
  friend bool operator==(const CommunicationPolicy&, const CommunicationPolicy&) = default;
};

// Cache warming (rules 7.3).
struct CacheWarmingPolicy {
  // Period of predictive warming from access patterns (7.3: every 30 minutes).
  core::Duration predictive_interval = std::chrono::minutes(30);
  // Daily time of scheduled warming (7.3: 3 AM).
  TimeOfDay scheduled_at{3, 0};
  // Related items warmed per cache miss (7.3: 10).
  int reactive_limit = 10;
  friend bool operator==(const CacheWarmingPolicy&, const CacheWarmingPolicy&) = default;
};

// The cache hierarchy (rules 7.1-7.3).
struct CachePolicy {
  // Agent-local memory (7.1: 256MB per agent, 60 seconds).
  CacheLevel l1{256ULL << 20, std::chrono::seconds(60)};
  // Shared cache (7.1: 16GB total, 5 minutes).
  CacheLevel l2{16ULL << 30, std::chrono::minutes(5)};
  // Materialized views (7.1: unlimited, 1 hour).
  CacheLevel l3{0, std::chrono::hours(1)};
  // How invalidations spread (7.2: "event" by default).
  InvalidationStrategy invalidation = InvalidationStrategy::kEvent;
  // Warming strategies (7.3).
  CacheWarmingPolicy warming;
  friend bool operator==(const CachePolicy&, const CachePolicy&) = default;
};

// Instance selection (rules 8.1).
struct LoadBalancingPolicy {
  // Weight of CPU load in weighted round robin (8.1: 40%).
  double cpu_weight = 0.4;
  // Weight of memory load (8.1: 30%).
  double memory_weight = 0.3;
  // Weight of queue depth (8.1: 30%).
  double queue_weight = 0.3;
  // Virtual nodes per instance on the consistent-hash ring (8.1: 150).
  int virtual_nodes = 150;
  // Algorithm for ordinary requests (8.1).
  LoadBalancingAlgorithm default_algorithm = LoadBalancingAlgorithm::kWeightedRoundRobin;
  // Algorithm for long-running operations (8.1).
  LoadBalancingAlgorithm long_running_algorithm = LoadBalancingAlgorithm::kLeastConnections;
  // Algorithm for stateful operations, keyed by request id (8.1).
  LoadBalancingAlgorithm stateful_algorithm = LoadBalancingAlgorithm::kConsistentHashing;
  // Agents whose calls are long-running: balanced by long_running_algorithm (ours).
  std::vector<std::string> long_running_agents;
  // Agents whose calls are stateful: balanced by stateful_algorithm (ours).
  std::vector<std::string> stateful_agents;
  // Header whose value keys consistent hashing; the request id when absent (8.1: request id).
  std::string hash_header = "X-Correlation-ID";
  // Queue depth that counts as fully loaded in weighted round robin (ours).
  double queue_saturation = 100;
  // Share of its weight a fully loaded instance keeps (ours).
  double min_weight_fraction = 0.05;
  friend bool operator==(const LoadBalancingPolicy&, const LoadBalancingPolicy&) = default;
};

// Rate limits, queues, retries and timeouts of gateway traffic (rules 8.2, 8.3).
struct TrafficPolicy {
  // Requests each agent may make per window (8.3: 100 req/min per agent).
  int rate_limit_requests = 100;
  // The rate limit window (8.3: per minute).
  core::Duration rate_limit_window = std::chrono::minutes(1);
  // Queued requests per agent before backpressure (8.2: max_queue_depth; ours: 1000).
  int max_queue_depth = 1000;
  // Attempts per request, the first included (8.3: 3).
  int retry_attempts = 3;
  // Shape of the delay between attempts (8.3: exponential).
  Backoff retry_backoff = Backoff::kExponential;
  // Delay before the first retry (ours).
  core::Duration retry_base_delay = std::chrono::milliseconds(100);
  // Longest delay between retries (ours).
  core::Duration retry_max_delay = std::chrono::seconds(2);
  // Upstream HTTP statuses that are retried (8.3: [500, 502, 503]).
  std::vector<int> retry_on = {500, 502, 503};
  // Deadline to connect upstream (8.3: 5s).
  core::Duration connect_timeout = std::chrono::seconds(5);
  // Deadline of a whole request (8.3: 30s).
  core::Duration request_timeout = std::chrono::seconds(30);
  // Idle connections are closed after this (8.3: 60s).
  core::Duration idle_timeout = std::chrono::seconds(60);
  // Requests a caller may send at once before the rate applies; 0 = rate_limit_requests (ours).
  int rate_limit_burst = 0;
  // Concurrent retries as a share of an agent's active requests (ours, as Envoy's budget).
  double retry_budget_ratio = 0.2;
  // Concurrent retries always allowed, so light traffic can retry (ours, as Envoy: 3).
  int retry_min_concurrency = 3;
  // Path prefixes of heavy operations, which get communication.heavy_timeout (6.3).
  std::vector<std::string> heavy_routes;
  // Request bodies up to this size are buffered and can be retried; larger ones stream (ours).
  std::uint64_t buffer_limit = 64 * 1024;
  // Largest request body the gateway forwards (ours).
  std::uint64_t max_body_bytes = 64ULL << 20;
  // Whether recovering instances receive calls, at half weight (ours).
  bool route_to_recovering = false;
  friend bool operator==(const TrafficPolicy&, const TrafficPolicy&) = default;
};

// Gateway plugins (rules 8.3).
struct ServiceMeshPolicy {
  // Whether the gateway adds a correlation id to requests without one (8.3).
  bool add_correlation_ids = true;
  // Header that carries the correlation id (ours).
  std::string correlation_header = "X-Correlation-ID";
  // Whether the gateway collects Prometheus metrics (8.3).
  bool prometheus_metrics = true;
  // Whether requests must carry a valid JWT (8.3 lists jwt; off until keys are set up).
  bool jwt_validation = false;
  friend bool operator==(const ServiceMeshPolicy&, const ServiceMeshPolicy&) = default;
};

// Bulkheads and timeout cascades (rules 9.1).
struct IsolationPolicy {
  // A child call's deadline is at most its parent's minus this (9.1: parent - 5s).
  core::Duration child_timeout_margin = std::chrono::seconds(5);
  // Longest chain of nested agent calls (9.1: 5).
  int max_call_depth = 5;
  // Concurrent calls per agent type before the bulkhead rejects (ours).
  int bulkhead_max_concurrent = 64;
  // Whether failures are kept from cascading between phases (9.1).
  bool isolate_phases = true;
  friend bool operator==(const IsolationPolicy&, const IsolationPolicy&) = default;
};

// Heartbeats and the phi accrual failure detector (rules 3.1, 9.2).
struct FailureDetectionPolicy {
  // phi above which an instance is suspected (9.2: 8).
  double phi_threshold = 8.0;
  // Heartbeat intervals kept per instance (9.2: 1000 samples).
  int window_size = 1000;
  // Floor of the interval standard deviation (ours, as Akka: 100ms).
  core::Duration min_std_deviation = std::chrono::milliseconds(100);
  // Lateness tolerated before phi rises (ours, as Akka: 3s).
  core::Duration acceptable_heartbeat_pause = std::chrono::seconds(3);
  // How often agents heartbeat (3.1: 5 seconds).
  core::Duration heartbeat_interval = std::chrono::seconds(5);
  // Missed heartbeats that make an instance unhealthy (3.1: 3).
  int missed_heartbeats = 3;
  friend bool operator==(const FailureDetectionPolicy&, const FailureDetectionPolicy&) = default;
};

// Graceful degradation under load (rules 9.3).
struct DegradationPolicy {
  // Load, as a fraction of capacity, above which low-priority requests are shed (ours).
  double shed_threshold = 0.9;
  // Queue fill above which low-priority requests are shed (ours; normal at shed_threshold).
  double low_priority_shed_threshold = 0.5;
  // Factor applied to cache TTLs while degraded (9.3: increase cache TTL; ours: 2).
  double cache_ttl_multiplier = 2.0;
  // Whether cached responses are served when an upstream is overloaded (9.3).
  bool serve_cached_on_overload = true;
  friend bool operator==(const DegradationPolicy&, const DegradationPolicy&) = default;
};

// Distributed tracing (rules 10.1).
struct TracingPolicy {
  // Fraction of requests traced (10.1: 0.1).
  double sampling_rate = 0.1;
  // Requests slower than this are always traced (10.1: >5s).
  core::Duration slow_threshold = std::chrono::seconds(5);
  // Whether error responses are always traced (10.1).
  bool always_sample_errors = true;
  // Traces kept for /debug/traces (ours).
  int max_recent_traces = 1000;
  // OTLP/HTTP JSON collector URL for kept spans, e.g. http://127.0.0.1:4318/v1/traces; "" = off.
  std::string otlp_endpoint;
  // service.name of exported spans (ours).
  std::string service_name = "agentmesh";
  friend bool operator==(const TracingPolicy&, const TracingPolicy&) = default;
};

// Debug information (rules 10.3).
struct DebugPolicy {
  // Log lines captured on error (10.3: last 1000 lines).
  int recent_log_lines = 1000;
  // Whether /debug endpoints are served (10.3).
  bool endpoints_enabled = true;
  friend bool operator==(const DebugPolicy&, const DebugPolicy&) = default;
};

// Service level objectives (rules, Monitoring and Compliance).
struct SlaPolicy {
  // Availability per phase (99.9%, 99.5%, 99%).
  PerPhase availability{0.999, 0.995, 0.99};
  // Latency baselines (P50 <100ms, P95 <500ms, P99 <2s).
  LatencyTargets latency{std::chrono::milliseconds(100), std::chrono::milliseconds(500),
                         std::chrono::seconds(2)};
  // Target CPU utilisation (60-80%).
  Band cpu{0.6, 0.8};
  // Target memory utilisation (70-85%).
  Band memory{0.7, 0.85};
  // Highest network utilisation (<50%).
  double network_max = 0.5;
  friend bool operator==(const SlaPolicy&, const SlaPolicy&) = default;
};

// Which backend serves which concern, and the embedded store's settings (DESIGN.md).
struct StoragePolicy {
  // Backend of agent registrations.
  StorageBackend membership = StorageBackend::kEmbedded;
  // Most writes the embedded store commits in one transaction (group commit).
  int embedded_max_batch = 1024;
  // Backend of the coordination primitives (sessions, locks, elections, barriers,
  // proposals), and for etcd its client URLs, the key prefix everything lives under,
  // and the bound on one call to it.
  CoordinationBackend coordination = CoordinationBackend::kEmbedded;
  std::vector<std::string> etcd_endpoints{"http://127.0.0.1:2379"};
  std::string etcd_prefix = "/agentmesh";
  core::Duration etcd_request_timeout = std::chrono::seconds(5);
  friend bool operator==(const StoragePolicy&, const StoragePolicy&) = default;
};

}  // namespace agentmesh::config
