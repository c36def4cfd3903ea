#include "agentmesh/health/health_consensus.h"

#include <gtest/gtest.h>

namespace agentmesh::health {
namespace {

constexpr const char* kNode = "node:n1";

class InstanceHealthTest : public ::testing::Test {
 protected:
  // Drives a healthy instance to unhealthy with failure_threshold failed checks.
  void MakeUnhealthy() {
    for (int i = 0; i < options_.failure_threshold; ++i) {
      (void)health_.OnCheck(false, kNode);
    }
    ASSERT_EQ(health_.state(), HealthState::kUnhealthy);
  }

  static void ExpectChange(const std::optional<StateChange>& change, HealthState from,
                           HealthState to, const std::string& reason) {
    ASSERT_TRUE(change.has_value());
    EXPECT_EQ(change->from, from);
    EXPECT_EQ(change->to, to);
    EXPECT_EQ(change->reason, reason);
  }

  HealthConsensusOptions options_;
  InstanceHealth health_{&options_, HealthState::kHealthy};
};

TEST_F(InstanceHealthTest, FailedCheckMakesHealthySuspect) {
  ExpectChange(health_.OnCheck(false, kNode), HealthState::kHealthy, HealthState::kSuspect,
               "check_failed");
  EXPECT_EQ(health_.consecutive_failures(), 1);
}

TEST_F(InstanceHealthTest, ThreeConsecutiveFailedChecksMakeUnhealthy) {
  (void)health_.OnCheck(false, kNode);
  EXPECT_FALSE(health_.OnCheck(false, kNode).has_value());
  ExpectChange(health_.OnCheck(false, kNode), HealthState::kSuspect, HealthState::kUnhealthy,
               "checks_failed");
  EXPECT_EQ(health_.consecutive_failures(), 3);
}

TEST_F(InstanceHealthTest, FlappingChecksNeverReachUnhealthy) {
  for (int i = 0; i < 100; ++i) {
    (void)health_.OnCheck(false, kNode);
    EXPECT_EQ(health_.state(), HealthState::kSuspect);
    (void)health_.OnCheck(true, kNode);
    EXPECT_EQ(health_.state(), HealthState::kHealthy);
    EXPECT_EQ(health_.consecutive_failures(), 0);
  }
  // Two failures, a success, two failures: never three in a row.
  for (int i = 0; i < 50; ++i) {
    (void)health_.OnCheck(false, kNode);
    (void)health_.OnCheck(false, kNode);
    (void)health_.OnCheck(true, kNode);
    EXPECT_NE(health_.state(), HealthState::kUnhealthy);
  }
}

TEST_F(InstanceHealthTest, PassingCheckInSuspectWaitsForDetector) {
  ExpectChange(health_.OnDetector(true, false), HealthState::kHealthy, HealthState::kSuspect,
               "phi_exceeded");
  EXPECT_FALSE(health_.OnCheck(true, kNode).has_value());
  EXPECT_EQ(health_.state(), HealthState::kSuspect);
  ExpectChange(health_.OnHeartbeat(true), HealthState::kSuspect, HealthState::kHealthy,
               "heartbeat_resumed");
}

TEST_F(InstanceHealthTest, PassingCheckClearsCheckSuspicion) {
  (void)health_.OnCheck(false, kNode);
  ExpectChange(health_.OnCheck(true, kNode), HealthState::kSuspect, HealthState::kHealthy,
               "check_passed");
}

TEST_F(InstanceHealthTest, HeartbeatDoesNotClearFailedCheck) {
  (void)health_.OnCheck(false, kNode);
  EXPECT_FALSE(health_.OnHeartbeat(true).has_value());
  EXPECT_EQ(health_.state(), HealthState::kSuspect);
}

TEST_F(InstanceHealthTest, ExpiryMakesHealthyOrSuspectUnhealthy) {
  ExpectChange(health_.OnDetector(true, true), HealthState::kHealthy, HealthState::kUnhealthy,
               "heartbeat_timeout");
  InstanceHealth suspect(&options_, HealthState::kSuspect);
  ExpectChange(suspect.OnDetector(true, true), HealthState::kSuspect, HealthState::kUnhealthy,
               "heartbeat_timeout");
}

TEST_F(InstanceHealthTest, PeerReportOfHealthyInstanceMakesItSuspect) {
  ExpectChange(health_.OnObservation("peer-a", false, true), HealthState::kHealthy,
               HealthState::kSuspect, "peer_reported_down");
}

TEST_F(InstanceHealthTest, UnhealthyObserversAreIgnored) {
  EXPECT_FALSE(health_.OnObservation("peer-a", false, false).has_value());
  EXPECT_EQ(health_.state(), HealthState::kHealthy);
  MakeUnhealthy();
  EXPECT_FALSE(health_.OnObservation("peer-a", true, false).has_value());
  EXPECT_EQ(health_.state(), HealthState::kUnhealthy);
  ExpectChange(health_.OnCheck(true, kNode), HealthState::kUnhealthy, HealthState::kRecovering,
               "check_passed");
  EXPECT_FALSE(health_.OnObservation("peer-b", true, false).has_value());
  EXPECT_FALSE(health_.OnObservation("peer-b", false, false).has_value());
  EXPECT_EQ(health_.state(), HealthState::kRecovering);
  EXPECT_EQ(health_.confirmations(), std::vector<std::string>{kNode});
}

TEST_F(InstanceHealthTest, RecoveryNeedsTwoDistinctObservers) {
  MakeUnhealthy();
  ExpectChange(health_.OnCheck(true, kNode), HealthState::kUnhealthy, HealthState::kRecovering,
               "check_passed");
  EXPECT_EQ(health_.consecutive_failures(), 0);
  EXPECT_FALSE(health_.OnCheck(true, kNode).has_value());  // same observer counts once
  EXPECT_EQ(health_.confirmations().size(), 1u);
  ExpectChange(health_.OnObservation("peer-a", true, true), HealthState::kRecovering,
               HealthState::kHealthy, "recovery_confirmed");
  EXPECT_TRUE(health_.confirmations().empty());
}

TEST_F(InstanceHealthTest, SamePeerConfirmingTwiceCountsOnce) {
  MakeUnhealthy();
  ExpectChange(health_.OnObservation("peer-a", true, true), HealthState::kUnhealthy,
               HealthState::kRecovering, "peer_confirmed");
  EXPECT_FALSE(health_.OnObservation("peer-a", true, true).has_value());
  EXPECT_EQ(health_.state(), HealthState::kRecovering);
  ExpectChange(health_.OnObservation("peer-b", true, true), HealthState::kRecovering,
               HealthState::kHealthy, "recovery_confirmed");
}

TEST_F(InstanceHealthTest, AnyFailureWhileRecoveringResetsConfirmations) {
  MakeUnhealthy();
  (void)health_.OnCheck(true, kNode);
  ExpectChange(health_.OnCheck(false, kNode), HealthState::kRecovering, HealthState::kUnhealthy,
               "recovery_failed");
  EXPECT_TRUE(health_.confirmations().empty());

  (void)health_.OnObservation("peer-a", true, true);
  ExpectChange(health_.OnObservation("peer-b", false, true), HealthState::kRecovering,
               HealthState::kUnhealthy, "recovery_failed");
  EXPECT_TRUE(health_.confirmations().empty());

  (void)health_.OnHeartbeat(true);
  ASSERT_EQ(health_.state(), HealthState::kRecovering);
  ExpectChange(health_.OnDetector(true, true), HealthState::kRecovering, HealthState::kUnhealthy,
               "recovery_failed");
}

TEST_F(InstanceHealthTest, HeartbeatStartsRecoveryWithoutConfirming) {
  MakeUnhealthy();
  ExpectChange(health_.OnHeartbeat(true), HealthState::kUnhealthy, HealthState::kRecovering,
               "heartbeat_resumed");
  EXPECT_TRUE(health_.confirmations().empty());
  EXPECT_FALSE(health_.OnHeartbeat(true).has_value());
  (void)health_.OnCheck(true, kNode);
  ExpectChange(health_.OnObservation("peer-a", true, true), HealthState::kRecovering,
               HealthState::kHealthy, "recovery_confirmed");
}

TEST_F(InstanceHealthTest, OverdueHeartbeatsBlockRecoveryByChecks) {
  (void)health_.OnDetector(true, true);
  ASSERT_EQ(health_.state(), HealthState::kUnhealthy);
  EXPECT_FALSE(health_.OnCheck(true, kNode).has_value());
  EXPECT_FALSE(health_.OnObservation("peer-a", true, true).has_value());
  EXPECT_EQ(health_.state(), HealthState::kUnhealthy);
  ExpectChange(health_.OnHeartbeat(true), HealthState::kUnhealthy, HealthState::kRecovering,
               "heartbeat_resumed");
}

TEST_F(InstanceHealthTest, SingleConfirmationRecoversAtOnceWhenConfigured) {
  options_.recovery_confirmations = 1;
  MakeUnhealthy();
  ExpectChange(health_.OnCheck(true, kNode), HealthState::kUnhealthy, HealthState::kHealthy,
               "recovery_confirmed");
}

TEST_F(InstanceHealthTest, LeftIsTerminal) {
  ExpectChange(health_.OnLeave(), HealthState::kHealthy, HealthState::kLeft, "deregistered");
  EXPECT_FALSE(health_.OnLeave().has_value());
  EXPECT_FALSE(health_.OnCheck(false, kNode).has_value());
  EXPECT_FALSE(health_.OnCheck(true, kNode).has_value());
  EXPECT_FALSE(health_.OnObservation("peer-a", false, true).has_value());
  EXPECT_FALSE(health_.OnDetector(true, true).has_value());
  EXPECT_FALSE(health_.OnHeartbeat(true).has_value());
  EXPECT_EQ(health_.state(), HealthState::kLeft);
}

TEST(HealthConsensusOptionsTest, ValidateAcceptsDefaultsAndNamesBadFields) {
  EXPECT_TRUE(Validate(HealthConsensusOptions{}).ok());
  HealthConsensusOptions bad;
  bad.failure_threshold = 0;
  EXPECT_EQ(Validate(bad).reason(), "invalid_failure_threshold");
  bad = {};
  bad.recovery_confirmations = 0;
  EXPECT_EQ(Validate(bad).reason(), "invalid_recovery_confirmations");
  bad = {};
  bad.heartbeat_interval = core::Duration::zero();
  EXPECT_EQ(Validate(bad).reason(), "invalid_heartbeat_interval");
  bad = {};
  bad.missed_heartbeats = 0;
  core::Status s = Validate(bad);
  EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), "invalid_missed_heartbeats");
}

TEST(HealthStateTest, NamesRoundTrip) {
  for (HealthState state : kAllHealthStates) {
    EXPECT_EQ(ParseHealthState(HealthStateName(state)), state);
  }
  EXPECT_EQ(HealthStateName(HealthState::kRecovering), "recovering");
  EXPECT_FALSE(ParseHealthState("Healthy").has_value());
  EXPECT_FALSE(ParseHealthState("").has_value());
}

}  // namespace
}  // namespace agentmesh::health
