// Retries: which gateway calls may be retried, how long to wait, and the retry budget that
// keeps retries from multiplying load during an outage (rules 6.3, 8.3).
//
// Free functions are pure. BackoffDelay draws jitter from the caller's Random (not
// thread-safe; one per IO thread). RetryBudget is thread-safe (atomics only); the gateway
// owns one per agent and shares it between IO threads.
#pragma once

#include <atomic>
#include <string_view>
#include <vector>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/random.h"
#include "agentmesh/core/status.h"

namespace agentmesh::resilience {

struct RetryOptions {
  // Attempts in total, the first one included (3: the first call and two retries).
  int max_attempts = 3;
  // Backoff cap before the first retry; it doubles for each further retry.
  core::Duration base_delay = std::chrono::milliseconds(100);
  // Upper bound of the backoff cap.
  core::Duration max_delay = std::chrono::seconds(2);
  // Upstream HTTP statuses worth retrying (server errors a peer instance may not have).
  std::vector<int> retry_on = {500, 502, 503};
  // Concurrent retries are at most this fraction of the agent's active requests (20%).
  double budget_ratio = 0.2;
  // Concurrent retries always allowed regardless of the ratio (Envoy's floor: 3).
  int min_retry_concurrency = 3;
};

// Errors: kInvalidArgument "invalid_retry_options" naming the offending field.
core::Status Validate(const RetryOptions& options);

// Returns whether an upstream answer with `http_status` may be retried.
bool IsRetryableStatus(const RetryOptions& options, int http_status);

// Returns whether `method` is idempotent per RFC 9110 (GET HEAD OPTIONS PUT DELETE TRACE);
// methods are case-sensitive, so "get" is not.
bool IsIdempotentMethod(std::string_view method);

// Returns the delay before retry number `retry` (1 = the first retry): jittered exponential
// backoff, uniform in [cap/2, cap] where cap = min(max_delay, base_delay * 2^(retry-1)).
// Requires: retry >= 1.
core::Duration BackoffDelay(const RetryOptions& options, int retry, core::Random& random);

class RetryBudget {
 public:
  RetryBudget(double ratio, int min_concurrency);
  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  // Counts a request of this agent as active (call once per client request, not per attempt).
  void OnRequestStart();
  void OnRequestEnd();
  // Takes a retry slot if active retries < max(min_concurrency, floor(ratio * active
  // requests)); returns false (no slot taken) otherwise. Pair a true with OnRetryEnd().
  bool TryStartRetry();
  void OnRetryEnd();

  int active_requests() const { return active_requests_.load(std::memory_order_relaxed); }
  int active_retries() const { return active_retries_.load(std::memory_order_relaxed); }

 private:
  const double ratio_;
  const int min_concurrency_;
  std::atomic<int> active_requests_{0};
  std::atomic<int> active_retries_{0};
};

}  // namespace agentmesh::resilience
