#include "agentmesh/resilience/circuit_breaker.h"

#include <type_traits>

#include <gtest/gtest.h>

#include "testing/manual_clock.h"

namespace agentmesh::resilience {
namespace {

using std::chrono::seconds;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  void Fail(int times) {
    for (int i = 0; i < times; ++i) {
      ASSERT_TRUE(breaker_.Allow(clock_.Now()));
      breaker_.OnFailure(clock_.Now());
    }
  }

  testing::ManualClock clock_;
  CircuitBreaker breaker_;
};

TEST_F(CircuitBreakerTest, DefaultsMatchTheRules) {
  const CircuitBreakerOptions options;
  EXPECT_EQ(options.failure_threshold, 5);
  EXPECT_EQ(options.recovery_timeout, seconds(60));
  EXPECT_EQ(options.half_open_max_calls, 1);
  EXPECT_TRUE(Validate(options).ok());
  EXPECT_TRUE(std::is_trivially_copyable_v<CircuitBreaker>);
}

TEST_F(CircuitBreakerTest, OpensAtExactlyFiveConsecutiveFailures) {
  Fail(4);
  EXPECT_EQ(breaker_.state(), CircuitState::kClosed);
  EXPECT_EQ(breaker_.consecutive_failures(), 4);
  Fail(1);
  EXPECT_EQ(breaker_.state(), CircuitState::kOpen);
  EXPECT_EQ(breaker_.opened_at(), clock_.Now());
}

TEST_F(CircuitBreakerTest, SuccessResetsTheFailureCount) {
  Fail(4);
  ASSERT_TRUE(breaker_.Allow(clock_.Now()));
  breaker_.OnSuccess(clock_.Now());
  EXPECT_EQ(breaker_.consecutive_failures(), 0);
  Fail(4);
  EXPECT_EQ(breaker_.state(), CircuitState::kClosed);
}

TEST_F(CircuitBreakerTest, OpenBreakerFailsFastUntilTheRecoveryTimeout) {
  Fail(5);
  clock_.Advance(seconds(59));
  EXPECT_FALSE(breaker_.WouldAllow(clock_.Now()));
  EXPECT_FALSE(breaker_.Allow(clock_.Now()));
  EXPECT_EQ(breaker_.state(), CircuitState::kOpen);
  EXPECT_EQ(breaker_.state(clock_.Now()), CircuitState::kOpen);
}

TEST_F(CircuitBreakerTest, TurnsHalfOpenAfterTheTimeoutWithOneProbe) {
  Fail(5);
  clock_.Advance(seconds(60));
  EXPECT_EQ(breaker_.state(), CircuitState::kOpen);
  EXPECT_EQ(breaker_.state(clock_.Now()), CircuitState::kHalfOpen);
  EXPECT_TRUE(breaker_.WouldAllow(clock_.Now()));
  EXPECT_EQ(breaker_.state(), CircuitState::kOpen) << "WouldAllow must not change state";
  EXPECT_TRUE(breaker_.Allow(clock_.Now()));
  EXPECT_EQ(breaker_.state(), CircuitState::kHalfOpen);
  EXPECT_EQ(breaker_.probes_in_flight(), 1);
  EXPECT_FALSE(breaker_.WouldAllow(clock_.Now()));
  EXPECT_FALSE(breaker_.Allow(clock_.Now()));
}

TEST_F(CircuitBreakerTest, HalfOpenAdmitsExactlyMaxCallsProbes) {
  breaker_ = CircuitBreaker(
      {.failure_threshold = 1, .recovery_timeout = seconds(10), .half_open_max_calls = 3});
  Fail(1);
  clock_.Advance(seconds(10));
  EXPECT_TRUE(breaker_.Allow(clock_.Now()));
  EXPECT_TRUE(breaker_.Allow(clock_.Now()));
  EXPECT_TRUE(breaker_.Allow(clock_.Now()));
  EXPECT_FALSE(breaker_.Allow(clock_.Now()));
  EXPECT_EQ(breaker_.probes_in_flight(), 3);
}

TEST_F(CircuitBreakerTest, ProbeSuccessCloses) {
  Fail(5);
  clock_.Advance(seconds(60));
  ASSERT_TRUE(breaker_.Allow(clock_.Now()));
  breaker_.OnSuccess(clock_.Now());
  EXPECT_EQ(breaker_.state(), CircuitState::kClosed);
  EXPECT_EQ(breaker_.consecutive_failures(), 0);
  EXPECT_EQ(breaker_.probes_in_flight(), 0);
  Fail(4);
  EXPECT_EQ(breaker_.state(), CircuitState::kClosed);
}

TEST_F(CircuitBreakerTest, ProbeFailureReopensWithAFreshTimeout) {
  Fail(5);
  clock_.Advance(seconds(60));
  ASSERT_TRUE(breaker_.Allow(clock_.Now()));
  clock_.Advance(seconds(2));
  breaker_.OnFailure(clock_.Now());
  EXPECT_EQ(breaker_.state(), CircuitState::kOpen);
  EXPECT_EQ(breaker_.opened_at(), clock_.Now());
  clock_.Advance(seconds(59));
  EXPECT_FALSE(breaker_.Allow(clock_.Now()));
  clock_.Advance(seconds(1));
  EXPECT_TRUE(breaker_.Allow(clock_.Now()));
  EXPECT_EQ(breaker_.state(), CircuitState::kHalfOpen);
}

TEST_F(CircuitBreakerTest, CancelFreesTheProbeSlot) {
  Fail(5);
  clock_.Advance(seconds(60));
  ASSERT_TRUE(breaker_.Allow(clock_.Now()));
  ASSERT_FALSE(breaker_.Allow(clock_.Now()));
  breaker_.OnCancel();
  EXPECT_EQ(breaker_.probes_in_flight(), 0);
  EXPECT_EQ(breaker_.state(), CircuitState::kHalfOpen);
  EXPECT_TRUE(breaker_.Allow(clock_.Now()));
}

TEST_F(CircuitBreakerTest, LateResultsWhileOpenAreIgnored) {
  Fail(5);
  const auto opened = breaker_.opened_at();
  clock_.Advance(seconds(1));
  breaker_.OnSuccess(clock_.Now());
  breaker_.OnFailure(clock_.Now());
  breaker_.OnCancel();
  EXPECT_EQ(breaker_.state(), CircuitState::kOpen);
  EXPECT_EQ(breaker_.opened_at(), opened);
}

TEST_F(CircuitBreakerTest, StateNamesAreSnakeCase) {
  EXPECT_EQ(CircuitStateName(CircuitState::kClosed), "closed");
  EXPECT_EQ(CircuitStateName(CircuitState::kOpen), "open");
  EXPECT_EQ(CircuitStateName(CircuitState::kHalfOpen), "half_open");
}

TEST(CircuitBreakerOptionsTest, ValidateNamesTheBadField) {
  const auto check = [](CircuitBreakerOptions options, std::string_view field) {
    const core::Status status = Validate(options);
    EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.reason(), "invalid_circuit_breaker_options");
    EXPECT_NE(status.message().find(field), std::string::npos) << status.ToString();
  };
  check({.failure_threshold = 0}, "failure_threshold");
  check({.recovery_timeout = seconds(0)}, "recovery_timeout");
  check({.half_open_max_calls = 0}, "half_open_max_calls");
}

}  // namespace
}  // namespace agentmesh::resilience
