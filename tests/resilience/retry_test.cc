#include "agentmesh/resilience/retry.h"

#include <gtest/gtest.h>

namespace agentmesh::resilience {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RetryTest, RetriesOnlyConfiguredStatuses) {
  const RetryOptions options;
  EXPECT_TRUE(IsRetryableStatus(options, 500));
  EXPECT_TRUE(IsRetryableStatus(options, 502));
  EXPECT_TRUE(IsRetryableStatus(options, 503));
  EXPECT_FALSE(IsRetryableStatus(options, 504));
  EXPECT_FALSE(IsRetryableStatus(options, 404));
  EXPECT_FALSE(IsRetryableStatus(options, 200));
}

TEST(RetryTest, IdempotentMethodsFollowRfc9110) {
  for (std::string_view method : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}) {
    EXPECT_TRUE(IsIdempotentMethod(method)) << method;
  }
  for (std::string_view method : {"POST", "PATCH", "CONNECT", "get", ""}) {
    EXPECT_FALSE(IsIdempotentMethod(method)) << method;
  }
}

TEST(RetryTest, BackoffStaysWithinHalfCapAndCap) {
  core::Random random(42);
  const RetryOptions options;
  const milliseconds caps[] = {milliseconds(100), milliseconds(200),  milliseconds(400),
                               milliseconds(800), milliseconds(1600), milliseconds(2000),
                               milliseconds(2000)};
  for (int retry = 1; retry <= 7; ++retry) {
    const core::Duration cap = caps[retry - 1];
    for (int i = 0; i < 1000; ++i) {
      const core::Duration delay = BackoffDelay(options, retry, random);
      ASSERT_GE(delay, cap / 2) << "retry " << retry << " seed " << random.seed();
      ASSERT_LE(delay, cap) << "retry " << retry << " seed " << random.seed();
    }
  }
}

TEST(RetryTest, BackoffGrowsExponentiallyOnAverage) {
  core::Random random(7);
  const RetryOptions options;
  using Millis = std::chrono::duration<double, std::milli>;
  const auto mean = [&](int retry) {
    core::Duration total{};
    constexpr int kSamples = 2000;
    for (int i = 0; i < kSamples; ++i) {
      total += BackoffDelay(options, retry, random);
    }
    return total / kSamples;
  };
  const core::Duration first = mean(1);
  const core::Duration second = mean(2);
  // Uniform in [cap/2, cap] has mean 0.75 cap.
  EXPECT_NEAR(Millis(first).count(), 75.0, 3.0);
  EXPECT_NEAR(Millis(second).count(), 150.0, 6.0);
  EXPECT_NEAR(Millis(mean(40)).count(), 1500.0, 60.0);
}

TEST(RetryTest, BackoffIsDeterministicForASeed) {
  core::Random a(123);
  core::Random b(123);
  const RetryOptions options;
  for (int retry = 1; retry <= 5; ++retry) {
    EXPECT_EQ(BackoffDelay(options, retry, a), BackoffDelay(options, retry, b));
  }
}

TEST(RetryBudgetTest, FloorAllowsMinConcurrencyWithFewRequests) {
  RetryBudget budget(0.2, 3);
  budget.OnRequestStart();
  EXPECT_TRUE(budget.TryStartRetry());
  EXPECT_TRUE(budget.TryStartRetry());
  EXPECT_TRUE(budget.TryStartRetry());
  EXPECT_FALSE(budget.TryStartRetry());
  EXPECT_EQ(budget.active_retries(), 3);
  budget.OnRetryEnd();
  EXPECT_TRUE(budget.TryStartRetry());
}

TEST(RetryBudgetTest, RatioOfActiveRequestsAboveTheFloor) {
  RetryBudget budget(0.2, 3);
  for (int i = 0; i < 30; ++i) {
    budget.OnRequestStart();
  }
  EXPECT_EQ(budget.active_requests(), 30);
  for (int i = 0; i < 6; ++i) {
    EXPECT_TRUE(budget.TryStartRetry()) << i;
  }
  EXPECT_FALSE(budget.TryStartRetry());
  for (int i = 0; i < 10; ++i) {
    budget.OnRequestEnd();
  }
  // 20% of 20 is 4, and 6 retries are still running: none more.
  EXPECT_FALSE(budget.TryStartRetry());
  budget.OnRetryEnd();
  budget.OnRetryEnd();
  budget.OnRetryEnd();
  EXPECT_TRUE(budget.TryStartRetry());
  EXPECT_FALSE(budget.TryStartRetry());
}

TEST(RetryBudgetTest, RoundingDoesNotLoseASlot) {
  RetryBudget budget(0.29, 0);
  for (int i = 0; i < 100; ++i) {
    budget.OnRequestStart();
  }
  int granted = 0;
  while (budget.TryStartRetry()) {
    ++granted;
  }
  EXPECT_EQ(granted, 29);
}

TEST(RetryOptionsTest, DefaultsAreValid) { EXPECT_TRUE(Validate(RetryOptions{}).ok()); }

TEST(RetryOptionsTest, ValidateNamesTheBadField) {
  const auto check = [](RetryOptions options, std::string_view field) {
    const core::Status status = Validate(options);
    EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.reason(), "invalid_retry_options");
    EXPECT_NE(status.message().find(field), std::string::npos) << status.ToString();
  };
  check({.max_attempts = 0}, "max_attempts");
  check({.base_delay = milliseconds(0)}, "base_delay");
  check({.base_delay = seconds(3), .max_delay = seconds(2)}, "max_delay");
  check({.retry_on = {503, 42}}, "retry_on");
  check({.budget_ratio = 1.5}, "budget_ratio");
  check({.budget_ratio = -0.1}, "budget_ratio");
  check({.min_retry_concurrency = -1}, "min_retry_concurrency");
}

}  // namespace
}  // namespace agentmesh::resilience
