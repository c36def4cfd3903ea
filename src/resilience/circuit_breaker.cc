#include "agentmesh/resilience/circuit_breaker.h"

#include <string>

namespace agentmesh::resilience {
namespace {

core::Status InvalidOptions(std::string message) {
  return core::InvalidArgument("invalid_circuit_breaker_options", std::move(message));
}

}  // namespace

core::Status Validate(const CircuitBreakerOptions& options) {
  if (options.failure_threshold < 1) {
    return InvalidOptions("failure_threshold must be at least 1");
  }
  if (options.recovery_timeout <= core::Duration::zero()) {
    return InvalidOptions("recovery_timeout must be positive");
  }
  if (options.half_open_max_calls < 1) {
    return InvalidOptions("half_open_max_calls must be at least 1");
  }
  return core::OkStatus();
}

std::string_view CircuitStateName(CircuitState state) {
  switch (state) {
    case CircuitState::kClosed:
      return "closed";
    case CircuitState::kOpen:
      return "open";
    case CircuitState::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(const CircuitBreakerOptions& options) : options_(options) {}

bool CircuitBreaker::Allow(core::TimePoint now) {
  switch (state_) {
    case CircuitState::kClosed:
      return true;
    case CircuitState::kOpen:
      if (!RecoveryDue(now)) {
        return false;
      }
      state_ = CircuitState::kHalfOpen;
      probes_in_flight_ = 0;
      [[fallthrough]];
    case CircuitState::kHalfOpen:
      if (probes_in_flight_ >= options_.half_open_max_calls) {
        return false;
      }
      ++probes_in_flight_;
      return true;
  }
  return false;
}

bool CircuitBreaker::WouldAllow(core::TimePoint now) const {
  switch (state_) {
    case CircuitState::kClosed:
      return true;
    case CircuitState::kOpen:
      return RecoveryDue(now) && options_.half_open_max_calls > 0;
    case CircuitState::kHalfOpen:
      return probes_in_flight_ < options_.half_open_max_calls;
  }
  return false;
}

void CircuitBreaker::OnSuccess(core::TimePoint /*now*/) {
  switch (state_) {
    case CircuitState::kClosed:
      consecutive_failures_ = 0;
      return;
    case CircuitState::kHalfOpen:
      state_ = CircuitState::kClosed;
      consecutive_failures_ = 0;
      probes_in_flight_ = 0;
      return;
    case CircuitState::kOpen:
      return;
  }
}

void CircuitBreaker::OnFailure(core::TimePoint now) {
  switch (state_) {
    case CircuitState::kClosed:
      if (++consecutive_failures_ >= options_.failure_threshold) {
        Open(now);
      }
      return;
    case CircuitState::kHalfOpen:
      ++consecutive_failures_;
      Open(now);
      return;
    case CircuitState::kOpen:
      return;
  }
}

void CircuitBreaker::OnCancel() {
  if (state_ == CircuitState::kHalfOpen && probes_in_flight_ > 0) {
    --probes_in_flight_;
  }
}

CircuitState CircuitBreaker::state(core::TimePoint now) const {
  if (state_ == CircuitState::kOpen && RecoveryDue(now)) {
    return CircuitState::kHalfOpen;
  }
  return state_;
}

void CircuitBreaker::Open(core::TimePoint now) {
  state_ = CircuitState::kOpen;
  opened_at_ = now;
  probes_in_flight_ = 0;
}

}  // namespace agentmesh::resilience
