#include "agentmesh/health/membership.h"

#include <chrono>

#include <gtest/gtest.h>

#include "health/membership_test_util.h"

namespace agentmesh::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(MembershipTest, RegisterCreatesUpdatesOrLeavesUnchanged) {
  MembershipFixture f;
  InstanceSpec spec = MakeSpec("a1");
  EXPECT_EQ(f.Register(spec), RegisterOutcome::kCreated);
  EXPECT_EQ(f.Register(spec), RegisterOutcome::kUnchanged);
  spec.weight = 50;
  EXPECT_EQ(f.Register(spec), RegisterOutcome::kUpdated);
  std::optional<InstanceView> view = f.membership.Get("a1", f.clock.Now());
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->spec.weight, 50);
  EXPECT_EQ(view->state, HealthState::kHealthy);
  EXPECT_EQ(view->registered_at, f.clock.WallNow());
  EXPECT_FALSE(view->last_heartbeat.has_value());
  EXPECT_EQ(f.membership.size(), 1u);
}

TEST(MembershipTest, HeartbeatRecordsLoadAndCount) {
  MembershipFixture f;
  f.Register(MakeSpec("a1"));
  ASSERT_TRUE(f.Heartbeat("a1").ok());
  f.clock.Advance(seconds(5));
  ASSERT_TRUE(f.Heartbeat("a1").ok());
  std::optional<InstanceView> view = f.membership.Get("a1", f.clock.Now());
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->heartbeats, 2u);
  EXPECT_EQ(view->last_heartbeat, f.clock.WallNow());
  ASSERT_TRUE(view->load.has_value());
  EXPECT_EQ(view->load->queue_depth, 3);
  EXPECT_EQ(f.Heartbeat("nope").code(), core::StatusCode::kNotFound);
}

TEST(MembershipTest, ThreeFailedChecksMakeUnhealthy) {
  MembershipFixture f;
  f.Register(MakeSpec("a1"));
  ASSERT_TRUE(f.Check("a1", false).ok());
  EXPECT_EQ(f.State("a1"), HealthState::kSuspect);
  ASSERT_TRUE(f.Check("a1", false).ok());
  ASSERT_TRUE(f.Check("a1", false).ok());
  EXPECT_EQ(f.State("a1"), HealthState::kUnhealthy);
  std::vector<Transition> transitions = f.membership.TakeTransitions();
  ASSERT_EQ(transitions.size(), 2u);
  EXPECT_EQ(transitions[1].reason, "checks_failed");
  EXPECT_EQ(transitions[1].instance_id, "a1");
  EXPECT_EQ(transitions[1].at, f.clock.Now());
  EXPECT_TRUE(f.membership.TakeTransitions().empty());
}

TEST(MembershipTest, RecoversWithTwoConfirmations) {
  MembershipFixture f;
  f.Register(MakeSpec("a1"));
  f.Register(MakeSpec("peer"));
  for (int i = 0; i < 3; ++i) {
    (void)f.Check("a1", false);
  }
  ASSERT_EQ(f.State("a1"), HealthState::kUnhealthy);
  ASSERT_TRUE(f.Check("a1", true).ok());
  EXPECT_EQ(f.State("a1"), HealthState::kRecovering);
  ASSERT_TRUE(f.Check("a1", true).ok());  // the node's checker again: still one observer
  EXPECT_EQ(f.State("a1"), HealthState::kRecovering);
  EXPECT_EQ(f.membership.Get("a1", f.clock.Now())->confirmations,
            std::vector<std::string>{"node:n1"});
  ASSERT_TRUE(f.Observe("a1", "peer", true).ok());
  EXPECT_EQ(f.State("a1"), HealthState::kHealthy);
  std::vector<Transition> history = f.membership.History("a1");
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back().reason, "recovery_confirmed");
}

TEST(MembershipTest, ObservationsNeedKnownHealthyObservers) {
  MembershipFixture f;
  f.Register(MakeSpec("a1"));
  f.Register(MakeSpec("sick"));
  EXPECT_EQ(f.Observe("a1", "ghost", false).reason(), "unknown_observer");
  EXPECT_EQ(f.Observe("ghost", "a1", false).reason(), "unknown_instance");
  EXPECT_EQ(f.Observe("a1", "a1", false).reason(), "self_observation");
  for (int i = 0; i < 3; ++i) {
    (void)f.Check("sick", false);
  }
  ASSERT_TRUE(f.Observe("a1", "sick", false).ok());
  EXPECT_EQ(f.State("a1"), HealthState::kHealthy);  // an unhealthy observer is ignored
  ASSERT_TRUE(f.Observe("sick", "a1", true).ok());
  EXPECT_EQ(f.State("sick"), HealthState::kRecovering);
  ASSERT_TRUE(f.Observe("a1", "sick", true).ok());  // sick is recovering, not healthy
  EXPECT_EQ(f.State("a1"), HealthState::kHealthy);
}

TEST(MembershipTest, RegularHeartbeatsStayHealthyForThirtyMinutes) {
  MembershipFixture f;
  f.Register(MakeSpec("a1"));
  f.Register(MakeSpec("a2", 2));
  for (int s = 0; s < 30 * 60; ++s) {
    if (s % 5 == 0) {
      ASSERT_TRUE(f.Heartbeat("a1").ok());
      ASSERT_TRUE(f.Heartbeat("a2").ok());
    }
    f.Tick();
    f.clock.Advance(seconds(1));
  }
  EXPECT_EQ(f.State("a1"), HealthState::kHealthy);
  EXPECT_EQ(f.State("a2"), HealthState::kHealthy);
  EXPECT_TRUE(f.membership.TakeTransitions().empty());
  EXPECT_LT(f.membership.Get("a1", f.clock.Now())->phi, 1.0);
}

TEST(MembershipTest, SilenceMakesSuspectThenUnhealthyAtFifteenSeconds) {
  MembershipFixture f;
  f.Register(MakeSpec("a1"));
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(f.Heartbeat("a1").ok());
    f.clock.Advance(seconds(5));
    f.Tick();
  }
  ASSERT_TRUE(f.Heartbeat("a1").ok());
  core::TimePoint last = f.clock.Now();
  std::optional<core::Duration> suspect_at;
  std::optional<core::Duration> unhealthy_at;
  for (int step = 1; step <= 200; ++step) {
    f.clock.Advance(milliseconds(100));
    f.Tick();
    HealthState state = f.State("a1");
    if (state == HealthState::kSuspect && !suspect_at) {
      suspect_at = f.clock.Now() - last;
    }
    if (state == HealthState::kUnhealthy && !unhealthy_at) {
      unhealthy_at = f.clock.Now() - last;
    }
  }
  ASSERT_TRUE(suspect_at.has_value());
  ASSERT_TRUE(unhealthy_at.has_value());
  EXPECT_GT(*suspect_at, seconds(8));  // mean 5 s plus the 3 s acceptable pause
  EXPECT_LT(*suspect_at, seconds(15));
  EXPECT_EQ(*unhealthy_at, seconds(15));
  std::vector<Transition> history = f.membership.History("a1");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].reason, "phi_exceeded");
  EXPECT_EQ(history[1].reason, "heartbeat_timeout");

  // Heartbeats resume: recovering until two observers confirm.
  f.Register(MakeSpec("peer"));
  ASSERT_TRUE(f.Heartbeat("a1").ok());
  EXPECT_EQ(f.State("a1"), HealthState::kRecovering);
  (void)f.Check("a1", true);
  (void)f.Observe("a1", "peer", true);
  EXPECT_EQ(f.State("a1"), HealthState::kHealthy);
}

TEST(MembershipTest, DeregisterMakesLeftAndRetentionForgetsIt) {
  MembershipOptions options;
  options.left_retention = minutes(10);
  MembershipFixture f(options);
  f.Register(MakeSpec("a1", 1, "127.0.0.1:9001"));
  ASSERT_TRUE(f.Heartbeat("a1").ok());
  ASSERT_TRUE(f.Deregister("a1").ok());
  EXPECT_TRUE(f.Deregister("a1").ok());  // idempotent
  EXPECT_EQ(f.Deregister("ghost").reason(), "unknown_instance");
  EXPECT_EQ(f.State("a1"), HealthState::kLeft);
  EXPECT_EQ(f.Heartbeat("a1").reason(), "instance_left");
  EXPECT_EQ(f.Check("a1", true).reason(), "instance_left");
  EXPECT_TRUE(f.membership.CheckTargets().empty());
  f.clock.Advance(minutes(10) - seconds(1));
  f.Tick();
  EXPECT_TRUE(f.membership.Get("a1", f.clock.Now()).has_value());
  f.clock.Advance(seconds(1));
  f.Tick();
  EXPECT_FALSE(f.membership.Get("a1", f.clock.Now()).has_value());
  EXPECT_EQ(f.membership.size(), 0u);
  EXPECT_TRUE(f.membership.History("a1").empty());
}

TEST(MembershipTest, RegisteringLeftInstanceRevivesIt) {
  MembershipFixture f;
  f.Register(MakeSpec("a1"));
  ASSERT_TRUE(f.Deregister("a1").ok());
  f.clock.Advance(seconds(30));
  EXPECT_EQ(f.Register(MakeSpec("a1")), RegisterOutcome::kCreated);
  EXPECT_EQ(f.State("a1"), HealthState::kHealthy);
  std::vector<Transition> history = f.membership.History("a1");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].reason, "deregistered");
  EXPECT_EQ(history[1].reason, "reregistered");
  EXPECT_EQ(history[1].from, HealthState::kLeft);
  EXPECT_EQ(history[1].to, HealthState::kHealthy);
  EXPECT_EQ(f.membership.Get("a1", f.clock.Now())->registered_at, f.clock.WallNow());
  // Retention no longer applies to it.
  f.clock.Advance(minutes(20));
  f.Tick();
  EXPECT_TRUE(f.membership.Get("a1", f.clock.Now()).has_value());
}

TEST(MembershipTest, HistoryKeepsNewestUpToLimit) {
  MembershipOptions options;
  options.history_limit = 5;
  MembershipFixture f(options);
  f.Register(MakeSpec("a1"));
  for (int i = 0; i < 20; ++i) {
    f.clock.Advance(seconds(1));
    (void)f.Check("a1", false);
    f.clock.Advance(seconds(1));
    (void)f.Check("a1", true);
  }
  std::vector<Transition> history = f.membership.History("a1");
  ASSERT_EQ(history.size(), 5u);
  EXPECT_EQ(history.back().at, f.clock.Now());
  EXPECT_EQ(history.back().reason, "check_passed");
  for (std::size_t i = 1; i < history.size(); ++i) {
    EXPECT_EQ(history[i].at - history[i - 1].at, seconds(1));
  }
  EXPECT_EQ(f.membership.TakeTransitions().size(), 40u);
}

TEST(MembershipTest, RestoreStartsHeartbeatClockAtRestoreTime) {
  MembershipFixture f;
  InstanceSpec spec = MakeSpec("a1");
  f.membership.Restore(spec, HealthState::kHealthy, f.clock.WallNow() - minutes(60), f.clock.Now());
  f.membership.Restore(MakeSpec("gone"), HealthState::kLeft, f.clock.WallNow(), f.clock.Now());
  f.clock.Advance(seconds(14));
  f.Tick();
  EXPECT_NE(f.State("a1"), HealthState::kUnhealthy);
  ASSERT_TRUE(f.Heartbeat("a1").ok());
  f.clock.Advance(seconds(5));
  f.Tick();
  EXPECT_EQ(f.State("a1"), HealthState::kHealthy);
  f.clock.Advance(seconds(10));
  f.Tick();
  EXPECT_EQ(f.State("a1"), HealthState::kUnhealthy);
  std::optional<InstanceView> view = f.membership.Get("a1", f.clock.Now());
  EXPECT_EQ(view->registered_at, f.clock.WallNow() - minutes(60) - seconds(29));
  EXPECT_EQ(view->heartbeats, 1u);
  EXPECT_EQ(f.membership.Get("gone", f.clock.Now())->state, HealthState::kLeft);
  EXPECT_TRUE(f.sink.OfType("agent.registered").empty());  // restoring is not news
}

TEST(MembershipTest, RestoredCheckOnlyInstanceIsJudgedByChecksNotHeartbeats) {
  MembershipFixture f;
  f.membership.Restore(MakeSpec("checked", 2, "127.0.0.1:9"), HealthState::kHealthy,
                       f.clock.WallNow(), f.clock.Now());
  for (int i = 0; i < 12; ++i) {
    f.clock.Advance(seconds(5));
    f.Tick();
    ASSERT_TRUE(f.Check("checked", true).ok());
  }
  EXPECT_EQ(f.State("checked"), HealthState::kHealthy);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(f.Check("checked", false).ok());
  }
  EXPECT_EQ(f.State("checked"), HealthState::kUnhealthy);
}

TEST(MembershipTest, AddresslessInstanceThatNeverHeartbeatsExpires) {
  MembershipFixture f;
  f.Register(MakeSpec("silent"));
  f.clock.Advance(seconds(14));
  f.Tick();
  EXPECT_NE(f.State("silent"), HealthState::kUnhealthy);
  f.clock.Advance(seconds(1));
  f.Tick();
  EXPECT_EQ(f.State("silent"), HealthState::kUnhealthy);
  EXPECT_EQ(f.membership.Get("silent", f.clock.Now())->heartbeats, 0u);
}

TEST(MembershipTest, StateOfMatchesTheViewAndIsEmptyForUnknownIds) {
  MembershipFixture f;
  f.Register(MakeSpec("a1", 1, "127.0.0.1:1"));
  ASSERT_TRUE(f.Check("a1", false).ok());
  EXPECT_EQ(f.membership.StateOf("a1"), HealthState::kSuspect);
  EXPECT_EQ(f.membership.StateOf("a1"), f.membership.Get("a1", f.clock.Now())->state);
  EXPECT_EQ(f.membership.StateOf("nobody"), std::nullopt);
}

TEST(MembershipTest, ListFiltersAndSortsById) {
  MembershipFixture f;
  InstanceSpec b = MakeSpec("b", 2, "127.0.0.1:2");
  b.domain = "security";
  b.capabilities = {"scan"};
  f.Register(b);
  f.Register(MakeSpec("a", 1, "127.0.0.1:1"));
  f.Register(MakeSpec("c", 1));
  (void)f.Check("c", false);
  EXPECT_EQ(f.membership.List({}, f.clock.Now()).size(), 3u);
  EXPECT_EQ(f.membership.List({}, f.clock.Now())[0].spec.id, "a");
  ListFilter by_phase;
  by_phase.phase = 1;
  EXPECT_EQ(f.membership.List(by_phase, f.clock.Now()).size(), 2u);
  ListFilter by_domain;
  by_domain.domain = "security";
  ASSERT_EQ(f.membership.List(by_domain, f.clock.Now()).size(), 1u);
  ListFilter by_capability;
  by_capability.capability = "plan";
  EXPECT_EQ(f.membership.List(by_capability, f.clock.Now()).size(), 2u);
  ListFilter by_state;
  by_state.state = HealthState::kSuspect;
  ASSERT_EQ(f.membership.List(by_state, f.clock.Now()).size(), 1u);
  EXPECT_EQ(f.membership.List(by_state, f.clock.Now())[0].spec.id, "c");
  ListFilter by_agent;
  by_agent.agent = "agent-b";
  EXPECT_EQ(f.membership.List(by_agent, f.clock.Now()).size(), 1u);
  std::vector<std::pair<std::string, std::string>> targets = f.membership.CheckTargets();
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0], std::make_pair(std::string("a"), std::string("127.0.0.1:1")));
}

TEST(MembershipOptionsTest, ValidateAcceptsDefaultsAndNamesBadFields) {
  EXPECT_TRUE(Validate(MembershipOptions{}).ok());
  MembershipOptions bad;
  bad.history_limit = 0;
  EXPECT_EQ(Validate(bad).reason(), "invalid_history_limit");
  bad = {};
  bad.left_retention = -seconds(1);
  EXPECT_EQ(Validate(bad).reason(), "invalid_left_retention");
  bad = {};
  bad.availability_floor[1] = 1.5;
  EXPECT_EQ(Validate(bad).reason(), "invalid_availability_floor");
  bad = {};
  bad.phi.threshold = -1;
  core::Status s = Validate(bad);
  EXPECT_EQ(s.reason(), "invalid_threshold");
  EXPECT_EQ(s.message().rfind("phi.threshold", 0), 0u);
  bad = {};
  bad.consensus.failure_threshold = 0;
  EXPECT_EQ(Validate(bad).message().rfind("consensus.failure_threshold", 0), 0u);
}

}  // namespace
}  // namespace agentmesh::health
