// Value types shared by the policy sections: choices (enums), per-phase figures,
// bands, cache levels and a time of day.
//
// Owned by the config module; plain values, safe to copy and share read-only.
// The YAML spelling of each enum value is its snake_case name without the k
// ("last_write_wins", "weighted_round_robin"); EnumName() returns it.
#pragma once

#include <cstdint>
#include <string_view>

#include "agentmesh/core/clock.h"

namespace agentmesh::config {

// Consistency level of a class of data (rules 2.1).
enum class ConsistencyLevel { kStrong, kEventual, kCausal };

// How concurrent writes to a class of data are reconciled (rules 2.3).
enum class ConflictStrategy { kLastWriteWins, kUnion, kMinimum, kManual };

// Delivery guarantee of a class of events (rules 5.1).
enum class DeliveryGuarantee { kAtLeastOnce, kAtMostOnce };

// Shape of the delay between retries (rules 6.3, 8.3).
enum class Backoff { kConstant, kExponential };

// How the gateway picks an instance (rules 8.1).
enum class LoadBalancingAlgorithm { kWeightedRoundRobin, kLeastConnections, kConsistentHashing };

// How cached entries are invalidated across agents (rules 7.2).
enum class InvalidationStrategy { kTtl, kEvent, kVersion };

// Which engine serves a concern (DESIGN.md, Backends). Only the embedded store exists
// so far; engines are added here as their adapters land.
enum class StorageBackend { kEmbedded };

// Which engine holds sessions, locks, elections, barriers and proposals: the embedded
// store, or etcd (its leases and its lock and election recipes).
enum class CoordinationBackend { kEmbedded, kEtcd };

// Returns the YAML spelling of `value`, e.g. "at_least_once".
std::string_view EnumName(ConsistencyLevel value);
std::string_view EnumName(StorageBackend value);
std::string_view EnumName(CoordinationBackend value);
std::string_view EnumName(ConflictStrategy value);
std::string_view EnumName(DeliveryGuarantee value);
std::string_view EnumName(Backoff value);
std::string_view EnumName(LoadBalancingAlgorithm value);
std::string_view EnumName(InvalidationStrategy value);

// One figure per deployment phase; YAML keys phase1, phase2, phase3.
struct PerPhase {
  double phase1 = 0;
  double phase2 = 0;
  double phase3 = 0;

  // Returns the figure of `phase` (1..3).
  double ForPhase(int phase) const { return phase <= 1 ? phase1 : phase == 2 ? phase2 : phase3; }
  friend bool operator==(const PerPhase&, const PerPhase&) = default;
};

// An inclusive range of utilisation, as a fraction of capacity.
struct Band {
  double min = 0;
  double max = 1;
  friend bool operator==(const Band&, const Band&) = default;
};

// One level of the cache hierarchy (rules 7.1).
struct CacheLevel {
  // Capacity in bytes; 0 means unlimited. YAML accepts "256MiB", "16GiB", "0".
  std::uint64_t size_bytes = 0;
  // How long an entry lives.
  core::Duration ttl{};
  friend bool operator==(const CacheLevel&, const CacheLevel&) = default;
};

// A local time of day, written "HH:MM" (24-hour clock).
struct TimeOfDay {
  int hour = 0;
  int minute = 0;
  friend bool operator==(const TimeOfDay&, const TimeOfDay&) = default;
};

// Latency targets (rules, Monitoring: performance baselines).
struct LatencyTargets {
  core::Duration p50{};
  core::Duration p95{};
  core::Duration p99{};
  friend bool operator==(const LatencyTargets&, const LatencyTargets&) = default;
};

}  // namespace agentmesh::config
