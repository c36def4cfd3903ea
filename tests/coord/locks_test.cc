#include "agentmesh/coord/locks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coord/lock_table_fixture.h"

namespace agentmesh::coord {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr LockMode kShared = LockMode::kShared;

TEST_F(LockTableTest, GrantReturnsTokenEventAndDirtyLock) {
  const Outcome outcome = Acquire("db/users", "s1");
  ASSERT_FALSE(outcome.queued);
  ASSERT_TRUE(outcome.result.has_value());
  EXPECT_EQ(outcome.result->at("name").as_string(), "db/users");
  EXPECT_EQ(outcome.result->at("mode").as_string(), "exclusive");
  EXPECT_EQ(outcome.result->at("session").as_string(), "s1");
  EXPECT_EQ(outcome.result->at("expires_in_ms").as_int64(), 60000);
  EXPECT_EQ(outcome.result->at("token").to_number<std::uint64_t>(), sequencer_.last());
  EXPECT_EQ(EventTypes(), std::vector<std::string>{"lock.acquired"});
  EXPECT_EQ(effects_.events[0].agent_id, "agent-s1");
  EXPECT_EQ(effects_.dirty, std::vector<Dirty>{(Dirty{ObjectKind::kLock, "db/users"})});
  EXPECT_TRUE(table_->Has("db/users"));
}

TEST_F(LockTableTest, WaitersAreGrantedInArrivalOrder) {
  Granted(Acquire("x", "a"));
  ASSERT_TRUE(Acquire("x", "b").queued);
  const std::uint64_t b = last_waiter_;
  ASSERT_TRUE(Acquire("x", "c").queued);
  const std::uint64_t c = last_waiter_;
  TakeWoken();
  ASSERT_TRUE(Release("x", "a").has_value());
  EXPECT_THAT(TakeWoken(), ElementsAre(b));
  EXPECT_THAT(Holders("x"), ElementsAre("b"));
  ASSERT_TRUE(Release("x", "b").has_value());
  EXPECT_THAT(TakeWoken(), ElementsAre(c));
  EXPECT_THAT(Holders("x"), ElementsAre("c"));
}

TEST_F(LockTableTest, SharedHoldersCoexistAndExclusiveWaitsForAll) {
  Granted(Acquire("cfg", "r1", kShared));
  Granted(Acquire("cfg", "r2", kShared));
  EXPECT_THAT(Holders("cfg"), ElementsAre("r1", "r2"));
  ASSERT_TRUE(Acquire("cfg", "w").queued);
  const std::uint64_t w = last_waiter_;
  TakeWoken();
  ASSERT_TRUE(Release("cfg", "r1").has_value());
  EXPECT_THAT(TakeWoken(), IsEmpty());
  ASSERT_TRUE(Release("cfg", "r2").has_value());
  EXPECT_THAT(TakeWoken(), ElementsAre(w));
  EXPECT_THAT(Holders("cfg"), ElementsAre("w"));
}

TEST_F(LockTableTest, ExclusiveHolderExcludesShared) {
  Granted(Acquire("cfg", "w"));
  EXPECT_TRUE(Acquire("cfg", "r", kShared).queued);
  EXPECT_EQ(table_->Get("cfg", Now())->at("waiters").to_number<int>(), 1);
}

TEST_F(LockTableTest, QueuedExclusiveBlocksLaterShared) {
  Granted(Acquire("cfg", "r1", kShared));
  ASSERT_TRUE(Acquire("cfg", "w").queued);
  const std::uint64_t w = last_waiter_;
  ASSERT_TRUE(Acquire("cfg", "r2", kShared).queued);  // no barging past the writer
  const std::uint64_t r2 = last_waiter_;
  TakeWoken();
  ASSERT_TRUE(Release("cfg", "r1").has_value());
  EXPECT_THAT(TakeWoken(), ElementsAre(w));
  ASSERT_TRUE(Release("cfg", "w").has_value());
  EXPECT_THAT(TakeWoken(), ElementsAre(r2));
}

TEST_F(LockTableTest, ReleaseGrantsTheRunOfConsecutiveSharedWaiters) {
  Granted(Acquire("cfg", "w1"));
  std::vector<std::uint64_t> ids;
  for (auto [session, mode] : {std::pair{"r1", kShared}, std::pair{"r2", kShared},
                               std::pair{"w2", LockMode::kExclusive}, std::pair{"r3", kShared}}) {
    ASSERT_TRUE(Acquire("cfg", session, mode).queued);
    ids.push_back(last_waiter_);
  }
  TakeWoken();
  ASSERT_TRUE(Release("cfg", "w1").has_value());
  EXPECT_THAT(TakeWoken(), ElementsAre(ids[0], ids[1]));
  ASSERT_TRUE(Release("cfg", "r1").has_value());
  ASSERT_TRUE(Release("cfg", "r2").has_value());
  EXPECT_THAT(TakeWoken(), ElementsAre(ids[2]));
  ASSERT_TRUE(Release("cfg", "w2").has_value());
  EXPECT_THAT(TakeWoken(), ElementsAre(ids[3]));
}

TEST_F(LockTableTest, TokensStrictlyIncreaseAcrossGrantsAndWakeups) {
  std::uint64_t previous = Granted(Acquire("x", "a"));
  Granted(Acquire("y", "a"));
  ASSERT_TRUE(Acquire("x", "b").queued);
  ASSERT_TRUE(Release("x", "a").has_value());
  ASSERT_EQ(effects_.wakeups.size(), 1u);
  const std::uint64_t woken = effects_.wakeups[0].result->at("token").to_number<std::uint64_t>();
  EXPECT_GT(woken, previous);
  previous = woken;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Release("x", "b").has_value());
    const std::uint64_t next = Granted(Acquire("x", "b"));
    EXPECT_GT(next, previous);
    previous = next;
  }
}

TEST_F(LockTableTest, ReacquireInTheSameModeReturnsTheSameToken) {
  const std::uint64_t token = Granted(Acquire("x", "a"));
  effects_ = {};
  EXPECT_EQ(Granted(Acquire("x", "a")), token);
  EXPECT_TRUE(effects_.events.empty());
  EXPECT_TRUE(effects_.dirty.empty());
  const Outcome upgrade = Acquire("x", "a", kShared);
  ASSERT_FALSE(upgrade.queued);
  ASSERT_FALSE(upgrade.result.has_value());
  EXPECT_EQ(upgrade.result.error().reason(), "invalid_argument");
}

TEST_F(LockTableTest, MaxHoldExpiresAtExactlySixtySecondsAndGrantsTheNextWaiter) {
  const std::uint64_t first = Granted(Acquire("x", "a"));
  ASSERT_TRUE(Acquire("x", "b").queued);
  const std::uint64_t b = last_waiter_;
  EXPECT_EQ(table_->NextDeadline(), Now() + seconds(60));
  TakeWoken();
  clock_.Advance(seconds(60) - 1ns);
  table_->Expire(Now(), effects_);
  EXPECT_TRUE(effects_.events.empty());
  EXPECT_THAT(Holders("x"), ElementsAre("a"));
  clock_.Advance(1ns);
  table_->Expire(Now(), effects_);
  EXPECT_EQ(EventTypes(), (std::vector<std::string>{"lock.expired", "lock.acquired"}));
  EXPECT_EQ(effects_.events[0].data.at("session").as_string(), "a");
  EXPECT_EQ(effects_.events[0].data.at("token").to_number<std::uint64_t>(), first);
  ASSERT_EQ(effects_.wakeups.size(), 1u);
  EXPECT_EQ(effects_.wakeups[0].waiter, b);
  EXPECT_GT(effects_.wakeups[0].result->at("token").to_number<std::uint64_t>(), first);
  EXPECT_EQ(effects_.dirty, std::vector<Dirty>{(Dirty{ObjectKind::kLock, "x"})});
  EXPECT_THAT(Holders("x"), ElementsAre("b"));
  EXPECT_EQ(table_->NextDeadline(), Now() + seconds(60));
}

TEST_F(LockTableTest, RenewsTenTimesThenMaxRenewalsExceeded) {
  Granted(Acquire("x", "a"));
  for (int i = 1; i <= 10; ++i) {
    clock_.Advance(seconds(20));  // the SDK's renewal interval
    auto renewed = table_->Renew("x", "a", Now(), effects_);
    ASSERT_TRUE(renewed.has_value()) << renewed.error().ToString();
    EXPECT_EQ(renewed->at("renewals").to_number<int>(), i);
    EXPECT_EQ(renewed->at("expires_in_ms").as_int64(), 60000);
  }
  clock_.Advance(seconds(20));
  auto refused = table_->Renew("x", "a", Now(), effects_);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.error().reason(), "max_renewals_exceeded");
  EXPECT_THAT(Holders("x"), ElementsAre("a"));  // still held until its max hold
  clock_.Advance(seconds(40));
  table_->Expire(Now(), effects_);
  EXPECT_THAT(Holders("x"), IsEmpty());
}

TEST_F(LockTableTest, RenewOrReleaseByANonHolderChangesNothing) {
  const std::uint64_t token = Granted(Acquire("x", "a"));
  ASSERT_TRUE(Acquire("x", "b").queued);
  effects_ = {};
  const auto before = table_->Get("x", Now());
  for (auto result :
       {Release("x", "b"), table_->Renew("x", "b", Now(), effects_), Release("free", "b")}) {
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), core::StatusCode::kFailedPrecondition);
    EXPECT_EQ(result.error().reason(), "not_holder");
  }
  EXPECT_EQ(table_->Get("x", Now()), before);
  EXPECT_TRUE(effects_.events.empty());
  EXPECT_TRUE(effects_.dirty.empty());
  EXPECT_TRUE(effects_.wakeups.empty());
  EXPECT_EQ(sequencer_.last(), token);
}

TEST_F(LockTableTest, InvalidNamesAreRejected) {
  for (std::string_view name : {"", "/lead", "a//b", "sp ace"}) {
    const Outcome outcome = Acquire(name, "s1");
    ASSERT_FALSE(outcome.result.has_value());
    EXPECT_EQ(outcome.result.error().reason(), "invalid_name");
    EXPECT_EQ(table_->Get(name, Now()).error().reason(), "invalid_name");
  }
  EXPECT_EQ(sequencer_.last(), 0u);
}

TEST_F(LockTableTest, GetShowsHoldersAndWaiters) {
  Granted(Acquire("cfg", "r1", kShared));
  clock_.Advance(seconds(15));
  Granted(Acquire("cfg", "r2", kShared));
  ASSERT_TRUE(Acquire("cfg", "w").queued);
  const auto view = table_->Get("cfg", Now());
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->at("name").as_string(), "cfg");
  EXPECT_EQ(view->at("waiters").to_number<int>(), 1);
  const auto& holders = view->at("holders").as_array();
  ASSERT_EQ(holders.size(), 2u);
  const auto& first = holders[0].as_object();
  EXPECT_EQ(first.at("session").as_string(), "r1");
  EXPECT_EQ(first.at("agent").as_string(), "agent-r1");
  EXPECT_EQ(first.at("mode").as_string(), "shared");
  EXPECT_EQ(first.at("expires_in_ms").as_int64(), 45000);
  EXPECT_EQ(first.at("renewals").to_number<int>(), 0);
  EXPECT_LT(first.at("token").to_number<std::uint64_t>(),
            holders[1].as_object().at("token").to_number<std::uint64_t>());
  const auto free = table_->Get("other", Now());
  EXPECT_TRUE(free->at("holders").as_array().empty());
  EXPECT_EQ(free->at("waiters").to_number<int>(), 0);
}

TEST_F(LockTableTest, ReleaseSessionFreesEverythingAndFailsItsWaits) {
  Granted(Acquire("a", "s1"));
  Granted(Acquire("b", "s1", kShared));
  Granted(Acquire("c", "s2"));
  ASSERT_TRUE(Acquire("c", "s1").queued);
  const std::uint64_t s1_wait = last_waiter_;
  ASSERT_TRUE(Acquire("a", "s3").queued);
  const std::uint64_t s3_wait = last_waiter_;
  effects_ = {};
  table_->ReleaseSession("s1", Now(), effects_);
  ASSERT_EQ(effects_.wakeups.size(), 2u);
  EXPECT_EQ(effects_.wakeups[0].waiter, s1_wait);
  ASSERT_FALSE(effects_.wakeups[0].result.has_value());
  EXPECT_EQ(effects_.wakeups[0].result.error().reason(), "unknown_session");
  EXPECT_EQ(effects_.wakeups[1].waiter, s3_wait);
  EXPECT_TRUE(effects_.wakeups[1].result.has_value());
  int released = 0;
  for (const auto& event : effects_.events) {
    if (event.type == "lock.released") {
      EXPECT_EQ(event.data.at("reason").as_string(), "session_ended");
      ++released;
    }
  }
  EXPECT_EQ(released, 2);
  EXPECT_THAT(Holders("a"), ElementsAre("s3"));
  EXPECT_THAT(Holders("b"), IsEmpty());
  EXPECT_THAT(Holders("c"), ElementsAre("s2"));
  EXPECT_EQ(table_->waiting(), 0u);
  EXPECT_FALSE(table_->Has("b"));
}

TEST_F(LockTableTest, SnapshotRestorePreservesHoldersAndTokensKeepGrowing) {
  Granted(Acquire("cfg", "r1", kShared));
  Granted(Acquire("cfg", "r2", kShared));
  const std::uint64_t exclusive = Granted(Acquire("deploy", "w"));
  ASSERT_TRUE(table_->Renew("deploy", "w", Now(), effects_).has_value());
  clock_.Advance(seconds(50));
  const auto cfg = table_->Snapshot("cfg");
  const auto deploy = table_->Snapshot("deploy");
  const std::uint64_t ceiling = sequencer_.ceiling();
  const auto before = table_->Get("cfg", Now());

  Sequencer restarted;
  restarted.Restore(ceiling);
  LockTable table({}, restarted);
  ASSERT_TRUE(table.Restore("cfg", cfg, Now()).ok());
  ASSERT_TRUE(table.Restore("deploy", deploy, Now()).ok());
  const auto after = table.Get("cfg", Now());
  ASSERT_EQ(after->at("holders").as_array().size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const auto& was = before->at("holders").as_array()[i].as_object();
    const auto& is = after->at("holders").as_array()[i].as_object();
    EXPECT_EQ(is.at("session"), was.at("session"));
    EXPECT_EQ(is.at("token"), was.at("token"));
    EXPECT_EQ(is.at("mode").as_string(), "shared");
    EXPECT_EQ(is.at("expires_in_ms").as_int64(), 60000);  // max hold restarts from now
  }
  const auto deploy_view = table.Get("deploy", Now());
  const auto& holder = deploy_view->at("holders").as_array()[0].as_object();
  EXPECT_EQ(holder.at("token").to_number<std::uint64_t>(), exclusive);
  EXPECT_EQ(holder.at("mode").as_string(), "exclusive");
  EXPECT_EQ(holder.at("renewals").to_number<int>(), 1);
  EXPECT_EQ(table.NextDeadline(), Now() + seconds(60));

  Effects effects;
  ASSERT_TRUE(table.Release("deploy", "w", Now(), effects).has_value());
  const Outcome next =
      table.Acquire("deploy", "w2", "agent", LockMode::kExclusive, 1, Now(), effects);
  ASSERT_TRUE(next.result.has_value());
  EXPECT_GT(next.result->at("token").to_number<std::uint64_t>(), ceiling);
  EXPECT_GT(ceiling, exclusive);
}

TEST_F(LockTableTest, RestoreRejectsMalformedState) {
  const boost::json::object two_exclusive{
      {"holders", boost::json::array{boost::json::object{{"session", "a"},
                                                         {"agent", "x"},
                                                         {"mode", "exclusive"},
                                                         {"token", 1},
                                                         {"renewals", 0}},
                                     boost::json::object{{"session", "b"},
                                                         {"agent", "x"},
                                                         {"mode", "exclusive"},
                                                         {"token", 2},
                                                         {"renewals", 0}}}}};
  const boost::json::object bad_mode{
      {"holders",
       boost::json::array{boost::json::object{
           {"session", "a"}, {"agent", "x"}, {"mode", "upgrade"}, {"token", 1}, {"renewals", 0}}}}};
  for (const auto& state : {boost::json::object{}, two_exclusive, bad_mode}) {
    const auto status = table_->Restore("x", state, Now());
    EXPECT_EQ(status.code(), core::StatusCode::kDataLoss);
    EXPECT_EQ(status.reason(), "corrupt_lock");
  }
  EXPECT_FALSE(table_->Has("x"));
}

}  // namespace
}  // namespace agentmesh::coord
