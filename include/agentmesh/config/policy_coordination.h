// Policy sections for the node itself and for coordination: consensus, quorum,
// health, consistency, partitions, circuit breaking, transactions, locks and the
// event bus (rules sections 1-5).
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

// The process: identity, listener, storage, threads (ours).
struct NodePolicy {
  // Node id; empty means generate one on first start and persist it (DESIGN: identity).
  std::string id;
  // host:port of the HTTP listener; port 0 picks a free port.
  std::string listen = "127.0.0.1:7700";
  // Directory of the embedded store and the persisted node id.
  std::string data_dir = "./agentmesh-data";
  // IO threads; 0 means one per core.
  int io_threads = 0;
  // Largest accepted request body.
  std::uint64_t max_body_bytes = 1048576;
  // One of trace, debug, info, warn, error, off.
  std::string log_level = "info";
  // How often timers that drive the cores (membership, leases) tick.
  core::Duration tick_interval = std::chrono::seconds(1);
  // glibc malloc arenas; 0 keeps glibc's default (8 per core). One arena keeps the
  // long-lived per-instance state of a large fleet from being spread across arenas
  // among per-thread request garbage: at 10,000 instances with full phi windows it
  // lowers resident memory per instance by about a quarter (bench/compare/fleet_10k).
  int malloc_arena_max = 1;
  friend bool operator==(const NodePolicy&, const NodePolicy&) = default;
};

// Sessions, leader election and coordinators (rules 1.1, 1.3).
struct ConsensusPolicy {
  // First wait before retrying leadership acquisition (1.1: 2s, 4s, 8s...).
  core::Duration election_backoff_initial = std::chrono::seconds(2);
  // Factor applied to the wait after each failed attempt (1.1: doubling).
  double election_backoff_multiplier = 2.0;
  // Longest wait between attempts (1.1: max 30s).
  core::Duration election_backoff_max = std::chrono::seconds(30);
  // How often a leader renews its session (1.1: every 10s).
  core::Duration session_renew_interval = std::chrono::seconds(10);
  // Session time to live (1.1: 30s TTL).
  core::Duration session_ttl = std::chrono::seconds(30);
  // Whether a leader hands off before planned maintenance (1.1: graceful handoff).
  bool graceful_handoff = true;
  // Longest a coordinator may hold a lock for a critical section (1.1: 60 seconds).
  core::Duration max_lock_hold = std::chrono::seconds(60);
  // Time to live of a coordination lock (1.3: coordination_ttl = 60).
  core::Duration coordination_ttl = std::chrono::seconds(60);
  // Time to live of a coordination barrier (1.3: ex=300).
  core::Duration barrier_ttl = std::chrono::minutes(5);
  // Shortest and longest session TTL a client may ask for (ours; Consul allows 10s-24h).
  core::Duration session_ttl_min = std::chrono::seconds(1);
  core::Duration session_ttl_max = std::chrono::hours(24);
  // Longest a lock wait, campaign or barrier arrival may block (`wait_ms`) (ours; DESIGN:
  // long-polls last at most 60 s).
  core::Duration max_wait = std::chrono::seconds(60);
  friend bool operator==(const ConsensusPolicy&, const ConsensusPolicy&) = default;
};

// Who must agree on critical decisions (rules 1.2).
struct QuorumPolicy {
  // Phase 1 agents that must agree on a critical decision (1.2: minimum 3).
  int min_phase1_agents = 3;
  // Fraction of votes for a system-wide change (1.2: 2/3 majority); YAML accepts "2/3".
  double system_change_majority = 2.0 / 3.0;
  // Agent whose approval every security decision needs (1.2).
  std::string security_approver = "security-pentesting-specialist";
  // Whether security decisions require that approval (1.2: all security decisions).
  bool security_approval_required = true;
  friend bool operator==(const QuorumPolicy&, const QuorumPolicy&) = default;
};

// Health checks and health consensus (rules 1.2, 6.3).
struct HealthPolicy {
  // How often the node checks each agent's health endpoint (6.3: every 10s).
  core::Duration check_interval = std::chrono::seconds(10);
  // Deadline of one health check; must be below check_interval (ours).
  core::Duration check_timeout = std::chrono::seconds(2);
  // Consecutive failed checks before an instance is unhealthy (1.2: 3).
  int failure_threshold = 3;
  // Healthy agents that must confirm a recovery (1.2: 2).
  int recovery_confirmations = 2;
  // How often aggregated health is published (1.2: rolling updates every 30s).
  core::Duration rolling_update_interval = std::chrono::seconds(30);
  // Transitions kept per instance for its history (ours).
  int history_limit = 100;
  // How long a deregistered instance stays visible (ours).
  core::Duration left_retention = std::chrono::minutes(10);
  // Fraction of a phase's instances that must be healthy, else health is critical (ours).
  PerPhase availability_floor{1.0, 0.75, 0.5};
  friend bool operator==(const HealthPolicy&, const HealthPolicy&) = default;
};

// Consistency levels and conflict resolution per class of data (rules 2.1, 2.3).
struct ConsistencyPolicy {
  struct Levels {
    ConsistencyLevel configuration = ConsistencyLevel::kStrong;        // 2.1
    ConsistencyLevel security_policies = ConsistencyLevel::kStrong;    // 2.1
    ConsistencyLevel resource_allocation = ConsistencyLevel::kStrong;  // 2.1
    ConsistencyLevel metrics = ConsistencyLevel::kEventual;            // 2.1
    ConsistencyLevel logs = ConsistencyLevel::kEventual;               // 2.1
    ConsistencyLevel agent_status = ConsistencyLevel::kEventual;       // 2.1
    ConsistencyLevel task_dependencies = ConsistencyLevel::kCausal;    // 2.1
    ConsistencyLevel event_chains = ConsistencyLevel::kCausal;         // 2.1
    ConsistencyLevel workflow_state = ConsistencyLevel::kCausal;       // 2.1
    friend bool operator==(const Levels&, const Levels&) = default;
  };
  struct Conflicts {
    ConflictStrategy metrics = ConflictStrategy::kLastWriteWins;       // 2.3
    ConflictStrategy status = ConflictStrategy::kLastWriteWins;        // 2.3
    ConflictStrategy configuration = ConflictStrategy::kUnion;         // 2.3
    ConflictStrategy access_control = ConflictStrategy::kUnion;        // 2.3
    ConflictStrategy resource_limits = ConflictStrategy::kMinimum;     // 2.3
    ConflictStrategy security_policies = ConflictStrategy::kManual;    // 2.3
    ConflictStrategy resource_allocation = ConflictStrategy::kManual;  // 2.3
    ConflictStrategy task_priority = ConflictStrategy::kManual;        // 2.3
    friend bool operator==(const Conflicts&, const Conflicts&) = default;
  };
  // Time within which eventually consistent replicas converge (2.1: 3s).
  core::Duration convergence_window = std::chrono::seconds(3);
  // Consistency level per class of data (2.1).
  Levels levels;
  // Conflict strategy per class of data (2.3).
  Conflicts conflicts;
  friend bool operator==(const ConsistencyPolicy&, const ConsistencyPolicy&) = default;
};

// Partition detection, degraded mode and recovery (rules 3.2).
struct PartitionPolicy {
  // Silence after which a peer counts as cut off (3.2: 15 seconds).
  core::Duration heartbeat_timeout = std::chrono::seconds(15);
  // Delay before loss of quorum is acted on (3.2: immediate, i.e. 0s).
  core::Duration quorum_loss_detection = core::Duration::zero();
  // Time to confirm a split brain (3.2: 30 seconds).
  core::Duration split_brain_detection = std::chrono::seconds(30);
  // Deadline for full state reconciliation after a partition heals (3.2: 60s).
  core::Duration reconciliation_window = std::chrono::seconds(60);
  // Whether minority partitions serve reads only (3.2).
  bool minority_read_only = true;
  // Whether minority partitions accept new tasks (3.2: no).
  bool minority_accepts_tasks = false;
  // Whether minority writes are queued for reconciliation (3.2).
  bool queue_minority_writes = true;
  // Whether partitions merge automatically when healed (3.2).
  bool auto_merge = true;
  friend bool operator==(const PartitionPolicy&, const PartitionPolicy&) = default;
};

// Per-agent circuit breakers (rules 3.3, 6.3).
struct CircuitBreakerPolicy {
  // Consecutive failures that open the circuit (3.3 and 6.3: 5).
  int failure_threshold = 5;
  // Time the circuit stays open before a trial call (3.3: 60).
  core::Duration recovery_timeout = std::chrono::seconds(60);
  // Trial calls allowed while half-open (ours).
  int half_open_max_calls = 1;
  friend bool operator==(const CircuitBreakerPolicy&, const CircuitBreakerPolicy&) = default;
};

// Sagas, two-phase commit and event sourcing (rules 4.1, 5.3).
struct TransactionsPolicy {
  // Deadline of a two-phase commit (4.1: 30 seconds).
  core::Duration two_phase_commit_timeout = std::chrono::seconds(30);
  // How long sourced events are kept (4.1: 30 days).
  core::Duration event_retention = std::chrono::hours(720);
  // Events between snapshots of an event-sourced stream (5.3: every 1000 events).
  int snapshot_every_events = 1000;
  friend bool operator==(const TransactionsPolicy&, const TransactionsPolicy&) = default;
};

// Distributed locks (rules 4.3).
struct LocksPolicy {
  // Lease of a lock; released when it lapses (4.3: 60s).
  core::Duration timeout = std::chrono::seconds(60);
  // Whether holders renew their leases automatically (4.3: true).
  bool auto_renewal = true;
  // How often an automatic renewal happens (4.3: 20s).
  core::Duration renewal_interval = std::chrono::seconds(20);
  // Renewals allowed per acquisition (4.3: 10).
  int max_renewals = 10;
  // Whether locks must be taken in a global order (4.3: ordered lock acquisition).
  bool ordered_acquisition = true;
  // The lock hierarchy, outermost level first: lock-name prefixes in the order a session
  // must take them (ours; 4.3 "ordered lock acquisition"). A session holding a lock whose
  // name starts with the i-th prefix may not take one of an earlier prefix (409
  // lock_order_violation); names matching no prefix are unconstrained. Empty: no hierarchy.
  std::vector<std::string> hierarchy;
  friend bool operator==(const LocksPolicy&, const LocksPolicy&) = default;
};

// Event bus channels and delivery (rules 5.1, 5.2).
struct EventBusPolicy {
  // Guarantee for critical events, state changes and task completions (5.1).
  DeliveryGuarantee critical_delivery = DeliveryGuarantee::kAtLeastOnce;
  // Guarantee for metrics, debug logs and performance data (5.1).
  DeliveryGuarantee telemetry_delivery = DeliveryGuarantee::kAtMostOnce;
  // Longest a consumer's read blocks waiting for events (5.2: block=1000 ms).
  core::Duration read_block = std::chrono::seconds(1);
  // Whether events are ordered per agent and event type (5.2).
  bool ordered = true;
  friend bool operator==(const EventBusPolicy&, const EventBusPolicy&) = default;
};

}  // namespace agentmesh::config
