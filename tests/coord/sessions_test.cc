#include "agentmesh/coord/sessions.h"

#include <gtest/gtest.h>

#include "testing/manual_clock.h"

namespace agentmesh::coord {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace std::chrono_literals;

class SessionTableTest : public ::testing::Test {
 protected:
  core::TimePoint Now() const { return clock_.Now(); }
  core::Result<boost::json::object> Create(std::string_view id,
                                           std::optional<core::Duration> ttl = seconds(30)) {
    return sessions_.Create(id, "ai-agent-orchestrator", ttl, Now(), effects_);
  }

  testing::ManualClock clock_;
  SessionTable sessions_;
  Effects effects_;
};

TEST_F(SessionTableTest, CreateReturnsIdAgentAndTtlAndIsDurable) {
  auto created =
      sessions_.Create("s1", "hardware-resource-optimizer", std::nullopt, Now(), effects_);
  ASSERT_TRUE(created.has_value()) << created.error().ToString();
  EXPECT_EQ(created->at("id").as_string(), "s1");
  EXPECT_EQ(created->at("agent").as_string(), "hardware-resource-optimizer");
  EXPECT_EQ(created->at("ttl").as_string(), "30s");  // rules 1.1 default
  ASSERT_EQ(effects_.dirty.size(), 1u);
  EXPECT_EQ(effects_.dirty[0], (Dirty{ObjectKind::kSession, "s1"}));
  ASSERT_EQ(effects_.events.size(), 1u);
  EXPECT_EQ(effects_.events[0].type, "session.created");
  EXPECT_EQ(effects_.events[0].agent_id, "hardware-resource-optimizer");
  EXPECT_EQ(*sessions_.AgentOf("s1", Now()), "hardware-resource-optimizer");
}

TEST_F(SessionTableTest, TtlOutsideOneSecondToOneDayIsInvalidTtl) {
  for (core::Duration ttl : {core::Duration(milliseconds(999)), core::Duration(hours(24) + 1ms),
                             core::Duration::zero(), core::Duration(seconds(-5))}) {
    auto created = Create("bad", ttl);
    ASSERT_FALSE(created.has_value());
    EXPECT_EQ(created.error().code(), core::StatusCode::kInvalidArgument);
    EXPECT_EQ(created.error().reason(), "invalid_ttl");
  }
  EXPECT_FALSE(sessions_.Has("bad"));
  EXPECT_TRUE(effects_.dirty.empty());
  EXPECT_TRUE(Create("low", seconds(1)).has_value());
  EXPECT_TRUE(Create("high", hours(24)).has_value());
}

TEST_F(SessionTableTest, InvalidAgentOrIdIsInvalidArgument) {
  auto bad_agent = sessions_.Create("s1", "no spaces", std::nullopt, Now(), effects_);
  ASSERT_FALSE(bad_agent.has_value());
  EXPECT_EQ(bad_agent.error().reason(), "invalid_argument");
  auto bad_id = sessions_.Create("", "agent", std::nullopt, Now(), effects_);
  ASSERT_FALSE(bad_id.has_value());
  EXPECT_EQ(bad_id.error().reason(), "invalid_argument");
  EXPECT_EQ(sessions_.size(), 0u);
}

TEST_F(SessionTableTest, DuplicateIdIsAlreadyExists) {
  ASSERT_TRUE(Create("s1").has_value());
  auto again = Create("s1");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), core::StatusCode::kAlreadyExists);
}

TEST_F(SessionTableTest, ExpiresAtExactlyTheTtl) {
  ASSERT_TRUE(Create("s1").has_value());
  EXPECT_EQ(sessions_.NextDeadline(), Now() + seconds(30));
  effects_ = {};
  clock_.Advance(seconds(30) - 1ns);
  EXPECT_TRUE(sessions_.Expire(Now(), effects_).empty());
  EXPECT_TRUE(sessions_.Get("s1", Now()).has_value());
  clock_.Advance(1ns);
  auto get = sessions_.Get("s1", Now());
  ASSERT_FALSE(get.has_value());
  EXPECT_EQ(get.error().reason(), "unknown_session");
  EXPECT_EQ(sessions_.Expire(Now(), effects_), std::vector<std::string>{"s1"});
  ASSERT_EQ(effects_.events.size(), 1u);
  EXPECT_EQ(effects_.events[0].type, "session.expired");
  EXPECT_EQ(effects_.events[0].data.at("session").as_string(), "s1");
  EXPECT_EQ(effects_.dirty, std::vector<Dirty>{(Dirty{ObjectKind::kSession, "s1"})});
  EXPECT_FALSE(sessions_.Has("s1"));
  EXPECT_FALSE(sessions_.NextDeadline().has_value());
}

TEST_F(SessionTableTest, RenewExtendsTheTtlFromNow) {
  ASSERT_TRUE(Create("s1").has_value());
  clock_.Advance(seconds(20));
  auto renewed = sessions_.Renew("s1", Now());
  ASSERT_TRUE(renewed.has_value());
  EXPECT_EQ(renewed->at("expires_in_ms").as_int64(), 30000);
  EXPECT_EQ(renewed->at("ttl").as_string(), "30s");
  clock_.Advance(seconds(29));
  EXPECT_TRUE(sessions_.Expire(Now(), effects_).empty());
  clock_.Advance(seconds(1));
  EXPECT_EQ(sessions_.Expire(Now(), effects_).size(), 1u);
}

TEST_F(SessionTableTest, RenewOfUnknownOrLapsedSessionIsUnknownSession) {
  EXPECT_EQ(sessions_.Renew("nope", Now()).error().reason(), "unknown_session");
  ASSERT_TRUE(Create("s1", seconds(5)).has_value());
  clock_.Advance(seconds(5));
  auto renewed = sessions_.Renew("s1", Now());
  ASSERT_FALSE(renewed.has_value());
  EXPECT_EQ(renewed.error().code(), core::StatusCode::kNotFound);
  EXPECT_EQ(sessions_.Expire(Now(), effects_).size(), 1u);
}

TEST_F(SessionTableTest, DestroyEndsTheSessionOnce) {
  ASSERT_TRUE(Create("s1").has_value());
  effects_ = {};
  auto destroyed = sessions_.Destroy("s1", Now(), effects_);
  ASSERT_TRUE(destroyed.has_value());
  EXPECT_TRUE(destroyed->at("destroyed").as_bool());
  ASSERT_EQ(effects_.events.size(), 1u);
  EXPECT_EQ(effects_.events[0].type, "session.destroyed");
  EXPECT_EQ(effects_.dirty, std::vector<Dirty>{(Dirty{ObjectKind::kSession, "s1"})});
  EXPECT_FALSE(sessions_.Has("s1"));
  EXPECT_FALSE(sessions_.NextDeadline().has_value());
  EXPECT_EQ(sessions_.Destroy("s1", Now(), effects_).error().reason(), "unknown_session");
  EXPECT_EQ(sessions_.AgentOf("s1", Now()).error().reason(), "unknown_session");
}

TEST_F(SessionTableTest, NextDeadlineIsTheEarliestExpiry) {
  ASSERT_TRUE(Create("long", seconds(60)).has_value());
  ASSERT_TRUE(Create("short", seconds(10)).has_value());
  EXPECT_EQ(sessions_.NextDeadline(), Now() + seconds(10));
  clock_.Advance(seconds(10));
  EXPECT_EQ(sessions_.Expire(Now(), effects_), std::vector<std::string>{"short"});
  EXPECT_EQ(sessions_.NextDeadline(), Now() + seconds(50));
}

TEST_F(SessionTableTest, RestoreGivesAFullTtlOfGrace) {
  ASSERT_TRUE(Create("s1", seconds(30)).has_value());
  clock_.Advance(seconds(25));
  const boost::json::object state = sessions_.Snapshot("s1");
  EXPECT_EQ(state.at("ttl_ms").as_int64(), 30000);

  SessionTable restarted;
  ASSERT_TRUE(restarted.Restore("s1", state, Now()).ok());
  EXPECT_EQ(*restarted.AgentOf("s1", Now()), "ai-agent-orchestrator");
  EXPECT_EQ(restarted.NextDeadline(), Now() + seconds(30));
  clock_.Advance(seconds(30) - 1ms);
  EXPECT_TRUE(restarted.Expire(Now(), effects_).empty());
  clock_.Advance(1ms);
  EXPECT_EQ(restarted.Expire(Now(), effects_), std::vector<std::string>{"s1"});
}

TEST_F(SessionTableTest, RestoreRejectsMalformedState) {
  for (const auto& state : {boost::json::object{}, boost::json::object{{"agent", "a"}},
                            boost::json::object{{"agent", "a"}, {"ttl_ms", -1}},
                            boost::json::object{{"agent", 7}, {"ttl_ms", 1000}}}) {
    const auto status = sessions_.Restore("s1", state, Now());
    EXPECT_EQ(status.code(), core::StatusCode::kDataLoss);
    EXPECT_EQ(status.reason(), "corrupt_session");
  }
  EXPECT_FALSE(sessions_.Has("s1"));
}

}  // namespace
}  // namespace agentmesh::coord
