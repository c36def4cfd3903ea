// CircuitBreaker: the per-upstream circuit breaker of the gateway (rules 3.3, 6.3).
//
// A sans-IO state machine: closed -> open after `failure_threshold` consecutive failures;
// open fails fast until `recovery_timeout` has passed, then half-open admits at most
// `half_open_max_calls` probes; a probe success closes it, a probe failure reopens it with a
// fresh timeout. Time comes in as arguments. Owned by the gateway, one per upstream instance.
// Not thread-safe: the caller holds a lock. The object is small and trivially copyable, so a
// /debug view can copy it under the lock. Callers detect transitions by comparing state()
// before and after a call.
#pragma once

#include <cstdint>
#include <string_view>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::resilience {

struct CircuitBreakerOptions {
  // Consecutive failures that open a closed breaker (rules 6.3: 5).
  int failure_threshold = 5;
  // Time an open breaker fails fast before it lets probes through (rules 3.3: 60 s).
  core::Duration recovery_timeout = std::chrono::seconds(60);
  // Probes a half-open breaker lets through at once (1, as Resilience4j's minimum).
  int half_open_max_calls = 1;
};

// Errors: kInvalidArgument "invalid_circuit_breaker_options" naming the offending field.
core::Status Validate(const CircuitBreakerOptions& options);

enum class CircuitState : std::uint8_t { kClosed, kOpen, kHalfOpen };

// Returns "closed", "open" or "half_open".
std::string_view CircuitStateName(CircuitState state);

class CircuitBreaker {
 public:
  explicit CircuitBreaker(const CircuitBreakerOptions& options = {});

  // Returns whether a call may go out now. Closed: yes. Open: no until recovery_timeout
  // has passed since it opened, then it turns half-open. Half-open: yes for at most
  // half_open_max_calls calls in flight (each admitted probe takes a slot).
  bool Allow(core::TimePoint now);
  // Returns whether Allow(now) would say yes, without taking a probe slot or changing state.
  bool WouldAllow(core::TimePoint now) const;

  // Records a successful call. Closed: resets the failure count. Half-open: closes.
  // Open: ignored (a late answer to a call admitted before the breaker opened).
  void OnSuccess(core::TimePoint now);
  // Records a failed call. Closed: counts it and opens at the threshold (opened_at = now).
  // Half-open: reopens with a fresh timeout (opened_at = now). Open: ignored.
  void OnFailure(core::TimePoint now);
  // Records that an admitted call ended with no verdict (cancelled, client left): frees
  // its probe slot when half-open.
  void OnCancel();

  // Returns the stored state; an open breaker stays open here until an Allow.
  CircuitState state() const { return state_; }
  // Returns the state as of `now`: half-open once an open breaker's timeout has passed.
  CircuitState state(core::TimePoint now) const;
  int consecutive_failures() const { return consecutive_failures_; }
  // Returns when the breaker last opened; meaningful only when it has opened.
  core::TimePoint opened_at() const { return opened_at_; }
  int probes_in_flight() const { return probes_in_flight_; }
  const CircuitBreakerOptions& options() const { return options_; }

 private:
  bool RecoveryDue(core::TimePoint now) const {
    return now - opened_at_ >= options_.recovery_timeout;
  }
  void Open(core::TimePoint now);

  CircuitBreakerOptions options_;
  core::TimePoint opened_at_{};
  int consecutive_failures_ = 0;
  int probes_in_flight_ = 0;
  CircuitState state_ = CircuitState::kClosed;
};

}  // namespace agentmesh::resilience
