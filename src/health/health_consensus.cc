#include "agentmesh/health/health_consensus.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "agentmesh/core/check.h"
#include "agentmesh/core/duration.h"

namespace agentmesh::health {
namespace {

// Upper bounds that keep missed_heartbeats x heartbeat_interval far from overflow.
constexpr int kMaxCount = 1000;
constexpr core::Duration kMaxHeartbeatInterval = std::chrono::hours(1);

core::Status Invalid(std::string field, std::string rule) {
  return core::InvalidArgument("invalid_" + field, field + " " + rule);
}

}  // namespace

core::Status Validate(const HealthConsensusOptions& options) {
  if (options.failure_threshold < 1 || options.failure_threshold > kMaxCount) {
    return Invalid("failure_threshold",
                   "must be between 1 and 1000, got " + std::to_string(options.failure_threshold));
  }
  if (options.recovery_confirmations < 1 || options.recovery_confirmations > kMaxCount) {
    return Invalid("recovery_confirmations", "must be between 1 and 1000, got " +
                                                 std::to_string(options.recovery_confirmations));
  }
  if (options.heartbeat_interval < std::chrono::milliseconds(1) ||
      options.heartbeat_interval > kMaxHeartbeatInterval) {
    return Invalid("heartbeat_interval", "must be between 1ms and 1h, got " +
                                             core::FormatDuration(options.heartbeat_interval));
  }
  if (options.missed_heartbeats < 1 || options.missed_heartbeats > kMaxCount) {
    return Invalid("missed_heartbeats",
                   "must be between 1 and 1000, got " + std::to_string(options.missed_heartbeats));
  }
  return core::OkStatus();
}

InstanceHealth::InstanceHealth(const HealthConsensusOptions* options, HealthState initial)
    : options_(options), state_(initial) {
  AM_CHECK(options_ != nullptr);
}

std::optional<StateChange> InstanceHealth::OnCheck(bool ok, std::string_view observer) {
  if (state_ == HealthState::kLeft) {
    return std::nullopt;
  }
  if (ok) {
    consecutive_failures_ = 0;
    switch (state_) {
      case HealthState::kSuspect:
        if (!detector_suspect_ && !detector_expired_) {
          return MoveTo(HealthState::kHealthy, "check_passed");
        }
        return std::nullopt;
      case HealthState::kUnhealthy:
        // While heartbeats are overdue a passing check would only flap the instance
        // between unhealthy and recovering on every tick; a heartbeat must come first.
        if (detector_expired_) {
          return std::nullopt;
        }
        return StartRecovery(observer, "check_passed");
      case HealthState::kRecovering:
        return Confirm(observer);
      default:
        return std::nullopt;
    }
  }
  ++consecutive_failures_;
  bool exhausted = consecutive_failures_ >= options_->failure_threshold;
  switch (state_) {
    case HealthState::kHealthy:
      return exhausted ? MoveTo(HealthState::kUnhealthy, "checks_failed")
                       : MoveTo(HealthState::kSuspect, "check_failed");
    case HealthState::kSuspect:
      return exhausted ? MoveTo(HealthState::kUnhealthy, "checks_failed") : std::nullopt;
    case HealthState::kRecovering:
      return MoveTo(HealthState::kUnhealthy, "recovery_failed");
    default:
      return std::nullopt;
  }
}

std::optional<StateChange> InstanceHealth::OnObservation(std::string_view observer, bool healthy,
                                                         bool observer_healthy) {
  if (!observer_healthy || state_ == HealthState::kLeft) {
    return std::nullopt;
  }
  if (healthy) {
    if (state_ == HealthState::kUnhealthy && !detector_expired_) {
      return StartRecovery(observer, "peer_confirmed");
    }
    if (state_ == HealthState::kRecovering) {
      return Confirm(observer);
    }
    return std::nullopt;
  }
  if (state_ == HealthState::kHealthy) {
    return MoveTo(HealthState::kSuspect, "peer_reported_down");
  }
  if (state_ == HealthState::kRecovering) {
    return MoveTo(HealthState::kUnhealthy, "recovery_failed");
  }
  return std::nullopt;
}

std::optional<StateChange> InstanceHealth::OnDetector(bool suspect, bool expired) {
  detector_suspect_ = suspect || expired;
  detector_expired_ = expired;
  switch (state_) {
    case HealthState::kHealthy:
      if (expired) {
        return MoveTo(HealthState::kUnhealthy, "heartbeat_timeout");
      }
      return suspect ? MoveTo(HealthState::kSuspect, "phi_exceeded") : std::nullopt;
    case HealthState::kSuspect:
      return expired ? MoveTo(HealthState::kUnhealthy, "heartbeat_timeout") : std::nullopt;
    case HealthState::kRecovering:
      return expired ? MoveTo(HealthState::kUnhealthy, "recovery_failed") : std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<StateChange> InstanceHealth::OnHeartbeat(bool phi_ok) {
  detector_suspect_ = !phi_ok;
  detector_expired_ = false;
  switch (state_) {
    case HealthState::kSuspect:
      if (phi_ok && consecutive_failures_ == 0) {
        return MoveTo(HealthState::kHealthy, "heartbeat_resumed");
      }
      return std::nullopt;
    case HealthState::kUnhealthy:
      // A heartbeat is evidence of life but no observer's confirmation.
      return StartRecovery({}, "heartbeat_resumed");
    default:
      return std::nullopt;
  }
}

std::optional<StateChange> InstanceHealth::OnLeave() {
  if (state_ == HealthState::kLeft) {
    return std::nullopt;
  }
  return MoveTo(HealthState::kLeft, "deregistered");
}

std::optional<StateChange> InstanceHealth::MoveTo(HealthState to, std::string reason) {
  StateChange change{state_, to, std::move(reason)};
  state_ = to;
  if (to != HealthState::kRecovering) {
    confirmations_.clear();
    confirmations_.shrink_to_fit();
  }
  if (to == HealthState::kHealthy) {
    consecutive_failures_ = 0;
  }
  return change;
}

void InstanceHealth::AddConfirmation(std::string_view observer) {
  if (std::find(confirmations_.begin(), confirmations_.end(), observer) == confirmations_.end()) {
    confirmations_.emplace_back(observer);
  }
}

std::optional<StateChange> InstanceHealth::StartRecovery(std::string_view observer,
                                                         std::string reason) {
  confirmations_.clear();
  if (!observer.empty()) {
    AddConfirmation(observer);
  }
  if (static_cast<int>(confirmations_.size()) >= options_->recovery_confirmations) {
    return MoveTo(HealthState::kHealthy, "recovery_confirmed");
  }
  return MoveTo(HealthState::kRecovering, std::move(reason));
}

std::optional<StateChange> InstanceHealth::Confirm(std::string_view observer) {
  if (!observer.empty()) {
    AddConfirmation(observer);
  }
  if (static_cast<int>(confirmations_.size()) >= options_->recovery_confirmations) {
    return MoveTo(HealthState::kHealthy, "recovery_confirmed");
  }
  return std::nullopt;
}

}  // namespace agentmesh::health
