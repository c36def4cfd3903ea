#include "agentmesh/resilience/retry.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "agentmesh/core/check.h"

namespace agentmesh::resilience {
namespace {

// HTTP status codes are three digits.
constexpr int kMinHttpStatus = 100;
constexpr int kMaxHttpStatus = 599;
// Absorbs rounding in ratio * requests, so 0.29 * 100 allows 29 retries, not 28.
constexpr double kRatioEpsilon = 1e-9;

constexpr std::array<std::string_view, 6> kIdempotentMethods = {"GET", "HEAD",   "OPTIONS",
                                                                "PUT", "DELETE", "TRACE"};

core::Status InvalidOptions(std::string message) {
  return core::InvalidArgument("invalid_retry_options", std::move(message));
}

}  // namespace

core::Status Validate(const RetryOptions& options) {
  if (options.max_attempts < 1) {
    return InvalidOptions("max_attempts must be at least 1 (the first attempt counts)");
  }
  if (options.base_delay <= core::Duration::zero()) {
    return InvalidOptions("base_delay must be positive");
  }
  if (options.max_delay < options.base_delay) {
    return InvalidOptions("max_delay must be at least base_delay");
  }
  for (int status : options.retry_on) {
    if (status < kMinHttpStatus || status > kMaxHttpStatus) {
      return InvalidOptions("retry_on holds " + std::to_string(status) +
                            ", not an HTTP status (100-599)");
    }
  }
  if (!(options.budget_ratio >= 0.0 && options.budget_ratio <= 1.0)) {
    return InvalidOptions("budget_ratio must be within [0, 1]");
  }
  if (options.min_retry_concurrency < 0) {
    return InvalidOptions("min_retry_concurrency must not be negative");
  }
  return core::OkStatus();
}

bool IsRetryableStatus(const RetryOptions& options, int http_status) {
  return std::find(options.retry_on.begin(), options.retry_on.end(), http_status) !=
         options.retry_on.end();
}

bool IsIdempotentMethod(std::string_view method) {
  return std::find(kIdempotentMethods.begin(), kIdempotentMethods.end(), method) !=
         kIdempotentMethods.end();
}

core::Duration BackoffDelay(const RetryOptions& options, int retry, core::Random& random) {
  AM_CHECK(retry >= 1);
  // Doubling stops at max_delay, so the cap never overflows however large `retry` is.
  core::Duration cap = options.base_delay;
  for (int i = 1; i < retry && cap < options.max_delay; ++i) {
    cap *= 2;
  }
  cap = std::min(cap, options.max_delay);
  if (cap <= core::Duration::zero()) {
    return core::Duration::zero();
  }
  const core::Duration low = cap / 2;
  const auto span = static_cast<std::uint64_t>((cap - low).count()) + 1;
  return low + core::Duration(static_cast<core::Duration::rep>(random.Below(span)));
}

RetryBudget::RetryBudget(double ratio, int min_concurrency)
    : ratio_(ratio), min_concurrency_(min_concurrency) {}

void RetryBudget::OnRequestStart() { active_requests_.fetch_add(1, std::memory_order_relaxed); }

void RetryBudget::OnRequestEnd() { active_requests_.fetch_sub(1, std::memory_order_relaxed); }

bool RetryBudget::TryStartRetry() {
  const int requests = active_requests_.load(std::memory_order_relaxed);
  const int limit =
      std::max(min_concurrency_,
               static_cast<int>(std::floor(ratio_ * std::max(requests, 0) + kRatioEpsilon)));
  int retries = active_retries_.load(std::memory_order_relaxed);
  while (retries < limit) {
    if (active_retries_.compare_exchange_weak(retries, retries + 1, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

void RetryBudget::OnRetryEnd() { active_retries_.fetch_sub(1, std::memory_order_relaxed); }

}  // namespace agentmesh::resilience
