#include "agentmesh/resilience/rate_limiter.h"

#include <string>

#include <gtest/gtest.h>

#include "testing/manual_clock.h"

namespace agentmesh::resilience {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

class KeyedRateLimiterTest : public ::testing::Test {
 protected:
  testing::ManualClock clock_;
};

TEST_F(KeyedRateLimiterTest, AllowsAHundredPerMinuteThenRejectsWithExactRetryAfter) {
  KeyedRateLimiter limiter(RateLimitOptions{});
  for (int i = 1; i <= 100; ++i) {
    const RateDecision decision = limiter.Decide("agent-a", clock_.Now());
    ASSERT_TRUE(decision.allowed) << i;
    EXPECT_EQ(decision.remaining, 100 - i);
    EXPECT_EQ(decision.retry_after, core::Duration::zero());
  }
  const RateDecision rejected = limiter.Decide("agent-a", clock_.Now());
  EXPECT_FALSE(rejected.allowed);
  EXPECT_EQ(rejected.retry_after, milliseconds(600));
  EXPECT_EQ(rejected.remaining, 0);

  clock_.Advance(milliseconds(250));
  EXPECT_EQ(limiter.Decide("agent-a", clock_.Now()).retry_after, milliseconds(350));
  clock_.Advance(milliseconds(349));
  EXPECT_FALSE(limiter.Decide("agent-a", clock_.Now()).allowed);
  clock_.Advance(milliseconds(1));
  const RateDecision allowed = limiter.Decide("agent-a", clock_.Now());
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.remaining, 0);
  EXPECT_EQ(limiter.Decide("agent-a", clock_.Now()).retry_after, milliseconds(600));
}

TEST_F(KeyedRateLimiterTest, RejectionsDoNotDelayTheCaller) {
  KeyedRateLimiter limiter(RateLimitOptions{});
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(limiter.Decide("a", clock_.Now()).allowed);
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_FALSE(limiter.Decide("a", clock_.Now()).allowed);
  }
  clock_.Advance(milliseconds(600));
  EXPECT_TRUE(limiter.Decide("a", clock_.Now()).allowed);
}

TEST_F(KeyedRateLimiterTest, SteadyRateConformsForever) {
  KeyedRateLimiter limiter(RateLimitOptions{});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.Decide("a", clock_.Now()).allowed) << i;
    clock_.Advance(milliseconds(600));
  }
}

TEST_F(KeyedRateLimiterTest, QuotaRefillsAfterAWindow) {
  KeyedRateLimiter limiter(RateLimitOptions{});
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(limiter.Decide("a", clock_.Now()).allowed);
  }
  clock_.Advance(minutes(1));
  const RateDecision decision = limiter.Decide("a", clock_.Now());
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.remaining, 99);
}

TEST_F(KeyedRateLimiterTest, BurstLimitsRequestsAtOnceButNotTheRate) {
  KeyedRateLimiter limiter({.requests = 100, .window = minutes(1), .burst = 10});
  for (int i = 1; i <= 10; ++i) {
    const RateDecision decision = limiter.Decide("a", clock_.Now());
    ASSERT_TRUE(decision.allowed) << i;
    EXPECT_EQ(decision.remaining, 10 - i);
  }
  const RateDecision rejected = limiter.Decide("a", clock_.Now());
  EXPECT_FALSE(rejected.allowed);
  EXPECT_EQ(rejected.retry_after, milliseconds(600));
  // Idle long enough to refill: a burst of 10 again, not 100.
  clock_.Advance(minutes(5));
  int allowed = 0;
  while (limiter.Decide("a", clock_.Now()).allowed) {
    ++allowed;
  }
  EXPECT_EQ(allowed, 10);
}

TEST_F(KeyedRateLimiterTest, KeysAreIsolated) {
  KeyedRateLimiter limiter({.requests = 2, .window = seconds(10)});
  EXPECT_TRUE(limiter.Decide("a", clock_.Now()).allowed);
  EXPECT_TRUE(limiter.Decide("a", clock_.Now()).allowed);
  EXPECT_FALSE(limiter.Decide("a", clock_.Now()).allowed);
  EXPECT_TRUE(limiter.Decide("b", clock_.Now()).allowed);
  EXPECT_TRUE(limiter.Decide("b", clock_.Now()).allowed);
  EXPECT_FALSE(limiter.Decide("b", clock_.Now()).allowed);
  EXPECT_EQ(limiter.keys(), 2u);
}

TEST_F(KeyedRateLimiterTest, EvictsIdleKeysBeyondMaxKeys) {
  KeyedRateLimiter limiter({.requests = 10, .window = seconds(10), .max_keys = 64});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.Decide("first-" + std::to_string(i), clock_.Now()).allowed);
  }
  EXPECT_EQ(limiter.keys(), 1000u) << "busy keys are never evicted";
  // Ten more rounds of 1000 new callers, each a window after the last: without eviction
  // the limiter would hold 11000 keys; with it, only a few rounds' worth.
  for (int round = 0; round < 10; ++round) {
    clock_.Advance(seconds(11));
    for (int i = 0; i < 1000; ++i) {
      const std::string key = std::to_string(round) + "-" + std::to_string(i);
      ASSERT_TRUE(limiter.Decide(key, clock_.Now()).allowed);
    }
  }
  EXPECT_LE(limiter.keys(), 3000u);
}

TEST_F(KeyedRateLimiterTest, EvictionKeepsBusyKeysState) {
  KeyedRateLimiter limiter({.requests = 2, .window = seconds(10), .max_keys = 16});
  ASSERT_TRUE(limiter.Decide("busy", clock_.Now()).allowed);
  ASSERT_TRUE(limiter.Decide("busy", clock_.Now()).allowed);
  for (int i = 0; i < 500; ++i) {
    limiter.Decide("other-" + std::to_string(i), clock_.Now());
    clock_.Advance(milliseconds(10));
  }
  // 5 s later the busy key has earned back one request, not two.
  EXPECT_TRUE(limiter.Decide("busy", clock_.Now()).allowed);
  EXPECT_FALSE(limiter.Decide("busy", clock_.Now()).allowed);
}

TEST(GcraTest, RetryAfterIsTheTimeUntilConformance) {
  Gcra gcra;
  const core::TimePoint t0{std::chrono::hours(1)};
  const core::Duration interval = seconds(1);
  EXPECT_TRUE(gcra.Decide(t0, interval, seconds(2)).allowed);
  EXPECT_TRUE(gcra.Decide(t0, interval, seconds(2)).allowed);
  EXPECT_TRUE(gcra.Decide(t0, interval, seconds(2)).allowed);
  const RateDecision rejected = gcra.Decide(t0 + milliseconds(300), interval, seconds(2));
  EXPECT_FALSE(rejected.allowed);
  EXPECT_EQ(rejected.retry_after, milliseconds(700));
  EXPECT_TRUE(gcra.Decide(t0 + seconds(1), interval, seconds(2)).allowed);
  EXPECT_FALSE(gcra.Replenished(t0 + seconds(3)));
  EXPECT_TRUE(gcra.Replenished(t0 + seconds(4)));
}

TEST(RateLimitOptionsTest, DefaultsMatchTheRules) {
  const RateLimitOptions options;
  EXPECT_EQ(options.requests, 100);
  EXPECT_EQ(options.window, minutes(1));
  EXPECT_TRUE(Validate(options).ok());
}

TEST(RateLimitOptionsTest, ValidateNamesTheBadField) {
  const auto check = [](RateLimitOptions options, std::string_view field) {
    const core::Status status = Validate(options);
    EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.reason(), "invalid_rate_limit_options");
    EXPECT_NE(status.message().find(field), std::string::npos) << status.ToString();
  };
  check({.requests = 0}, "requests");
  check({.window = seconds(0)}, "window");
  check({.requests = 10, .window = std::chrono::nanoseconds(5)}, "window");
  check({.burst = -1}, "burst");
  check({.max_keys = 0}, "max_keys");
}

}  // namespace
}  // namespace agentmesh::resilience
