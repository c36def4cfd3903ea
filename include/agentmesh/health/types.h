// Value types shared by the health module: instance specs, load samples, states.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentmesh/core/clock.h"

namespace agentmesh::health {

// The life of an instance as the fleet sees it (rules 1.2, 9.2).
//   healthy    -> suspect     phi above threshold, a failed check, or a peer reports it down
//   suspect    -> healthy     heartbeats and checks are fine again
//   healthy|suspect -> unhealthy  N consecutive failed checks, or no heartbeat for
//                                 missed_heartbeats x heartbeat_interval
//   unhealthy  -> recovering  a successful check, heartbeat or positive observation
//   recovering -> healthy     confirmed by K distinct healthy observers
//   recovering -> unhealthy   any failure while recovering
//   any        -> left        graceful deregistration
enum class HealthState : std::uint8_t { kHealthy, kSuspect, kUnhealthy, kRecovering, kLeft };

inline constexpr HealthState kAllHealthStates[] = {HealthState::kHealthy, HealthState::kSuspect,
                                                   HealthState::kUnhealthy,
                                                   HealthState::kRecovering, HealthState::kLeft};

// Returns "healthy", "suspect", "unhealthy", "recovering" or "left".
std::string_view HealthStateName(HealthState state);
// Parses the names above; nullopt for anything else.
std::optional<HealthState> ParseHealthState(std::string_view name);

// A load sample reported with a heartbeat. cpu and memory are utilisation in [0, 1];
// queue_depth is the number of requests waiting in the agent.
struct LoadSample {
  double cpu = 0;
  double memory = 0;
  double queue_depth = 0;
};

inline constexpr int kMinPhase = 1;
inline constexpr int kMaxPhase = 3;

// What an instance says about itself when it registers.
struct InstanceSpec {
  std::string id;                             // instance id, unique in the mesh
  std::string agent;                          // agent name, e.g. "ai-agent-orchestrator"
  int phase = 1;                              // deployment phase 1..3
  std::string domain;                         // e.g. "architecture", "security"
  std::vector<std::string> capabilities;      // sorted, unique
  std::string address;                        // host:port of its HTTP endpoint; empty = none
  int weight = 100;                           // load-balancing weight 1..10000
  std::map<std::string, std::string> metadata;

  friend bool operator==(const InstanceSpec&, const InstanceSpec&) = default;
};

// One recorded state change.
struct Transition {
  std::string instance_id;
  HealthState from = HealthState::kHealthy;
  HealthState to = HealthState::kHealthy;
  std::string reason;  // snake_case cause, e.g. "check_failed", "phi_exceeded"
  core::TimePoint at;
  core::WallTime wall;
};

}  // namespace agentmesh::health
