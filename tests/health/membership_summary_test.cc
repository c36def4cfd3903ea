#include <chrono>

#include <gtest/gtest.h>

#include "agentmesh/health/membership.h"

#include "health/membership_test_util.h"

namespace agentmesh::health {
namespace {

void MakeUnhealthy(MembershipFixture& f, const std::string& id) {
  for (int i = 0; i < 3; ++i) {
    (void)f.Check(id, false);
  }
}

TEST(MembershipSummaryTest, AllHealthyIsNotCritical) {
  MembershipFixture f;
  f.Register(MakeSpec("p1", 1));
  f.Register(MakeSpec("p2", 2));
  f.Register(MakeSpec("p3", 3));
  HealthSummary summary = f.membership.Summary();
  EXPECT_FALSE(summary.critical);
  EXPECT_TRUE(summary.reasons.empty());
  EXPECT_EQ(summary.counts[0][static_cast<int>(HealthState::kHealthy)], 1);
  EXPECT_EQ(summary.counts[2][static_cast<int>(HealthState::kHealthy)], 1);
}

TEST(MembershipSummaryTest, UnhealthyPhaseOneInstanceIsCritical) {
  MembershipOptions options;
  options.availability_floor[0] = 0.0;  // isolate the phase-1 rule from the floor rule
  MembershipFixture f(options);
  f.Register(MakeSpec("orchestrator", 1));
  f.Register(MakeSpec("other", 1));
  MakeUnhealthy(f, "orchestrator");
  HealthSummary summary = f.membership.Summary();
  EXPECT_TRUE(summary.critical);
  ASSERT_EQ(summary.reasons.size(), 1u);
  EXPECT_NE(summary.reasons[0].find("orchestrator"), std::string::npos);
  EXPECT_EQ(summary.counts[0][static_cast<int>(HealthState::kUnhealthy)], 1);
  EXPECT_EQ(summary.counts[0][static_cast<int>(HealthState::kHealthy)], 1);
}

TEST(MembershipSummaryTest, PhaseBelowAvailabilityFloorIsCritical) {
  MembershipFixture f;  // floors 1.0, 0.75, 0.5
  for (int i = 0; i < 4; ++i) {
    f.Register(MakeSpec("p2-" + std::to_string(i), 2));
  }
  (void)f.Check("p2-0", false);  // suspect: 3 of 4 healthy = 75%, at the floor
  EXPECT_FALSE(f.membership.Summary().critical);
  (void)f.Check("p2-1", false);  // 2 of 4 = 50% < 75%
  HealthSummary summary = f.membership.Summary();
  EXPECT_TRUE(summary.critical);
  ASSERT_EQ(summary.reasons.size(), 1u);
  EXPECT_NE(summary.reasons[0].find("Phase 2"), std::string::npos);
  EXPECT_NE(summary.reasons[0].find("75%"), std::string::npos);
}

TEST(MembershipSummaryTest, SuspectPhaseOneInstanceBreaksFullFloor) {
  MembershipFixture f;
  f.Register(MakeSpec("p1", 1));
  (void)f.Check("p1", false);
  HealthSummary summary = f.membership.Summary();
  EXPECT_TRUE(summary.critical);
  EXPECT_EQ(summary.reasons.size(), 1u);
}

TEST(MembershipSummaryTest, LeftInstancesDoNotCountTowardsAvailability) {
  MembershipFixture f;
  f.Register(MakeSpec("p3-a", 3));
  f.Register(MakeSpec("p3-b", 3));
  f.Register(MakeSpec("p3-c", 3));
  ASSERT_TRUE(f.Deregister("p3-b").ok());
  ASSERT_TRUE(f.Deregister("p3-c").ok());
  (void)f.Check("p3-a", false);  // 0 of 1 non-left healthy
  HealthSummary summary = f.membership.Summary();
  EXPECT_TRUE(summary.critical);
  EXPECT_EQ(summary.counts[2][static_cast<int>(HealthState::kLeft)], 2);
  (void)f.Check("p3-a", true);
  EXPECT_FALSE(f.membership.Summary().critical);
  // A phase whose instances all left has nothing to be available.
  ASSERT_TRUE(f.Deregister("p3-a").ok());
  EXPECT_FALSE(f.membership.Summary().critical);
}

TEST(MembershipEventsTest, EveryTransitionIsEmittedWithSchemaFields) {
  MembershipFixture f;
  f.Register(MakeSpec("a1", 2));
  ASSERT_EQ(f.sink.OfType("agent.registered").size(), 1u);
  const core::Event& registered = *f.sink.OfType("agent.registered")[0];
  EXPECT_EQ(registered.agent_id, "a1");
  EXPECT_EQ(registered.data.at("agent").as_string(), "agent-a1");
  EXPECT_EQ(registered.data.at("outcome").as_string(), "created");
  EXPECT_EQ(registered.timestamp, f.clock.WallNow());

  f.clock.Advance(std::chrono::seconds(1));
  (void)f.Check("a1", false);
  std::vector<const core::Event*> changes = f.sink.OfType("agent.health_changed");
  ASSERT_EQ(changes.size(), 1u);
  const boost::json::object& data = changes[0]->data;
  EXPECT_EQ(data.at("from").as_string(), "healthy");
  EXPECT_EQ(data.at("to").as_string(), "suspect");
  EXPECT_EQ(data.at("reason").as_string(), "check_failed");
  EXPECT_EQ(data.at("agent").as_string(), "agent-a1");
  EXPECT_EQ(data.at("phase").as_int64(), 2);
  EXPECT_EQ(changes[0]->agent_id, "a1");
  EXPECT_EQ(changes[0]->timestamp, f.clock.WallNow());

  ASSERT_TRUE(f.Deregister("a1").ok());
  EXPECT_EQ(f.sink.OfType("agent.deregistered").size(), 1u);
  changes = f.sink.OfType("agent.health_changed");
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1]->data.at("to").as_string(), "left");

  // The sink sees exactly the transitions the caller takes.
  EXPECT_EQ(f.membership.TakeTransitions().size(), 2u);
}

TEST(MembershipEventsTest, UnchangedRegistrationEmitsNothing) {
  MembershipFixture f;
  f.Register(MakeSpec("a1"));
  f.Register(MakeSpec("a1"));
  EXPECT_EQ(f.sink.events.size(), 1u);
}

TEST(MembershipEventsTest, NullSinkIsAllowed) {
  Membership membership(MembershipOptions{}, nullptr);
  testing::ManualClock clock;
  membership.Register(MakeSpec("a1"), clock.Now(), clock.WallNow());
  EXPECT_TRUE(membership.RecordCheck("a1", false, "node:n1", clock.Now(), clock.WallNow()).ok());
  EXPECT_EQ(membership.TakeTransitions().size(), 1u);
}

}  // namespace
}  // namespace agentmesh::health
