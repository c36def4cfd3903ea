// InstanceHealth: the health-consensus state machine of one instance (rules 1.2).
//
// Inputs are the node's own health checks, peers' observations and the failure
// detector's verdicts; output is the state in types.h and, on each change, a
// Transition. Sans-IO, not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"
#include "agentmesh/health/types.h"

namespace agentmesh::health {

struct HealthConsensusOptions {
  // Consecutive failed checks that make an instance unhealthy (rules 1.2: 3).
  int failure_threshold = 3;
  // Distinct healthy observers that must confirm recovery (rules 1.2: 2). The node's
  // own checker counts as one observer.
  int recovery_confirmations = 2;
  // How often instances heartbeat (rules 3.1: 5 s).
  core::Duration heartbeat_interval = std::chrono::seconds(5);
  // Missed heartbeats after which an instance is unhealthy (rules 3.1: 3, i.e. the
  // 15 s heartbeat timeout of rules 3.2).
  int missed_heartbeats = 3;
};

// Errors: kInvalidArgument naming the offending field.
core::Status Validate(const HealthConsensusOptions& options);

// A change of state with its cause; the caller stamps instance id and times.
struct StateChange {
  HealthState from;
  HealthState to;
  std::string reason;
};

class InstanceHealth {
 public:
  // `options` must outlive this object.
  InstanceHealth(const HealthConsensusOptions* options, HealthState initial);

  HealthState state() const { return state_; }
  int consecutive_failures() const { return consecutive_failures_; }
  // Observers that confirmed recovery since the instance entered `recovering`.
  const std::vector<std::string>& confirmations() const { return confirmations_; }

  // Records the result of a health check made by `observer` (the node's checker).
  std::optional<StateChange> OnCheck(bool ok, std::string_view observer);
  // Records what peer `observer` sees of this instance. `observer_healthy` says
  // whether the observer itself is healthy; only healthy observers count.
  std::optional<StateChange> OnObservation(std::string_view observer, bool healthy,
                                           bool observer_healthy);
  // Records the failure detector's verdict: `suspect` when phi is above threshold,
  // `expired` when no heartbeat came for missed_heartbeats intervals.
  std::optional<StateChange> OnDetector(bool suspect, bool expired);
  // Records a heartbeat that arrived (evidence of life).
  std::optional<StateChange> OnHeartbeat(bool phi_ok);
  // Graceful deregistration.
  std::optional<StateChange> OnLeave();

 private:
  std::optional<StateChange> MoveTo(HealthState to, std::string reason);
  void AddConfirmation(std::string_view observer);
  // unhealthy -> recovering, counting `observer` (if any) as the first confirmation.
  std::optional<StateChange> StartRecovery(std::string_view observer, std::string reason);
  // recovering: counts `observer`; -> healthy once enough distinct observers confirmed.
  std::optional<StateChange> Confirm(std::string_view observer);

  const HealthConsensusOptions* options_;
  HealthState state_;
  int consecutive_failures_ = 0;
  std::vector<std::string> confirmations_;
  // The failure detector's last verdicts (OnDetector / OnHeartbeat).
  bool detector_suspect_ = false;
  bool detector_expired_ = false;
};

}  // namespace agentmesh::health
