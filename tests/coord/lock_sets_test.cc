// LockTable: lock sets, the lock hierarchy and cancelled waits.
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agentmesh/coord/locks.h"

#include "coord/lock_table_fixture.h"

namespace agentmesh::coord {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr LockMode kShared = LockMode::kShared;

TEST_F(LockTableTest, LockSetIsGrantedAllAtOnceInCanonicalOrder) {
  Granted(Acquire("b", "other"));
  ASSERT_TRUE(AcquireSet({"c", "b", "a", "c"}, "s1").queued);
  const std::uint64_t set = last_waiter_;
  EXPECT_THAT(Holders("a"), IsEmpty());  // holds nothing while it waits
  EXPECT_THAT(Holders("c"), IsEmpty());
  EXPECT_EQ(table_->Get("a", Now())->at("waiters").to_number<int>(), 1);
  TakeWoken();
  ASSERT_TRUE(Release("b", "other").has_value());
  ASSERT_EQ(effects_.wakeups.size(), 1u);
  EXPECT_EQ(effects_.wakeups[0].waiter, set);
  const auto& result = *effects_.wakeups[0].result;
  EXPECT_EQ(result.at("names"), (boost::json::array{"a", "b", "c"}));
  const auto& tokens = result.at("tokens").as_object();
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_LT(tokens.at("a").to_number<std::uint64_t>(), tokens.at("b").to_number<std::uint64_t>());
  EXPECT_LT(tokens.at("b").to_number<std::uint64_t>(), tokens.at("c").to_number<std::uint64_t>());
  for (const char* name : {"a", "b", "c"}) {
    EXPECT_THAT(Holders(name), ElementsAre("s1"));
  }
}

TEST_F(LockTableTest, FreeLockSetIsGrantedImmediately) {
  const Outcome outcome = AcquireSet({"y", "x"}, "s1", kShared);
  ASSERT_FALSE(outcome.queued);
  ASSERT_TRUE(outcome.result.has_value());
  EXPECT_EQ(outcome.result->at("mode").as_string(), "shared");
  EXPECT_EQ(outcome.result->at("expires_in_ms").as_int64(), 60000);
  const Outcome again = AcquireSet({"x", "y"}, "s1", kShared);
  EXPECT_EQ(again.result->at("tokens"), outcome.result->at("tokens"));
}

TEST_F(LockTableTest, SetKeepsLocksAlreadyHeldAndRetakesThemIfReleasedMeanwhile) {
  const std::uint64_t kept = Granted(Acquire("a", "s1"));
  Granted(Acquire("b", "other"));
  ASSERT_TRUE(Acquire("a", "late").queued);
  ASSERT_TRUE(AcquireSet({"a", "b"}, "s1").queued);  // not behind "late", which waits for s1
  const std::uint64_t set = last_waiter_;
  TakeWoken();
  ASSERT_TRUE(Release("b", "other").has_value());
  ASSERT_EQ(effects_.wakeups.size(), 1u);
  EXPECT_EQ(effects_.wakeups[0].waiter, set);
  EXPECT_EQ(effects_.wakeups[0].result->at("tokens").at("a").to_number<std::uint64_t>(), kept);
  ASSERT_TRUE(Release("b", "s1").has_value());
  ASSERT_TRUE(AcquireSet({"a", "b"}, "s1").result.has_value());
  ASSERT_TRUE(Granted(Acquire("c", "other")));
  ASSERT_TRUE(AcquireSet({"a", "c"}, "s1").queued);
  const std::uint64_t second = last_waiter_;
  ASSERT_TRUE(Release("a", "s1").has_value());  // "late" was queued first: it gets a
  ASSERT_TRUE(Release("c", "other").has_value());
  ASSERT_TRUE(Release("a", "late").has_value());
  ASSERT_EQ(effects_.wakeups.back().waiter, second);
  EXPECT_THAT(Holders("a"), ElementsAre("s1"));
  EXPECT_THAT(Holders("c"), ElementsAre("s1"));
}

TEST_F(LockTableTest, OpposedSetsNeverDeadlock) {
  Granted(Acquire("a", "holder"));
  ASSERT_TRUE(AcquireSet({"a", "b"}, "s1").queued);
  const std::uint64_t first = last_waiter_;
  ASSERT_TRUE(AcquireSet({"b", "a"}, "s2").queued);
  const std::uint64_t second = last_waiter_;
  ASSERT_TRUE(Acquire("b", "late").queued);  // b is free, but the sets are queued ahead
  const std::uint64_t late = last_waiter_;
  TakeWoken();
  ASSERT_TRUE(Release("a", "holder").has_value());
  EXPECT_THAT(TakeWoken(), ElementsAre(first));
  table_->ReleaseSession("s1", Now(), effects_);
  EXPECT_THAT(TakeWoken(), ElementsAre(second));
  table_->ReleaseSession("s2", Now(), effects_);
  EXPECT_THAT(TakeWoken(), ElementsAre(late));
}

TEST_F(LockTableTest, EmptyOrOversizedSetIsInvalidArgument) {
  EXPECT_EQ(AcquireSet({}, "s1").result.error().reason(), "invalid_argument");
  std::vector<std::string> many;
  for (int i = 0; i < 65; ++i) {
    many.push_back("lock-" + std::to_string(i));
  }
  EXPECT_EQ(AcquireSet(many, "s1").result.error().reason(), "invalid_argument");
  EXPECT_EQ(AcquireSet({"ok", "bad name"}, "s1").result.error().reason(), "invalid_name");
  EXPECT_EQ(sequencer_.last(), 0u);
}

TEST_F(LockTableTest, CancelledWaitLetsTheSharedWaitersBehindItIn) {
  Granted(Acquire("cfg", "r1", kShared));
  ASSERT_TRUE(Acquire("cfg", "w").queued);
  const std::uint64_t w = last_waiter_;
  ASSERT_TRUE(Acquire("cfg", "r2", kShared).queued);
  const std::uint64_t r2 = last_waiter_;
  TakeWoken();
  EXPECT_TRUE(table_->CancelWait(w, Now(), effects_));
  EXPECT_THAT(TakeWoken(), ElementsAre(r2));
  EXPECT_THAT(Holders("cfg"), ElementsAre("r1", "r2"));
  EXPECT_FALSE(table_->CancelWait(w, Now(), effects_));
  ASSERT_TRUE(Release("cfg", "r1").has_value());
  ASSERT_TRUE(Release("cfg", "r2").has_value());
  EXPECT_THAT(TakeWoken(), IsEmpty());  // the cancelled writer is never woken
  EXPECT_FALSE(table_->Has("cfg"));
}

TEST_F(LockTableTest, CancelledSetUnblocksTheWaitersBehindIt) {
  Granted(Acquire("a", "holder"));
  ASSERT_TRUE(AcquireSet({"a", "b"}, "s1").queued);
  const std::uint64_t set = last_waiter_;
  ASSERT_TRUE(Acquire("b", "s2").queued);
  const std::uint64_t single = last_waiter_;
  TakeWoken();
  EXPECT_TRUE(table_->CancelWait(set, Now(), effects_));
  EXPECT_THAT(TakeWoken(), ElementsAre(single));
  EXPECT_THAT(Holders("b"), ElementsAre("s2"));
  EXPECT_EQ(table_->waiting(), 0u);
}

// Many sessions taking random sets and single locks, releasing and cancelling at random:
// exclusivity always holds and whenever requests wait, something is held (no deadlock).
TEST_F(LockTableTest, RandomWorkloadKeepsExclusionAndProgress) {
  const std::vector<std::string> names{"a", "b", "c", "d"};
  std::mt19937 random(20240501);
  std::vector<std::uint64_t> queued;
  for (int step = 0; step < 3000; ++step) {
    const std::string session = "s" + std::to_string(random() % 6);
    const LockMode mode = random() % 3 == 0 ? kShared : LockMode::kExclusive;
    switch (random() % 4) {
      case 0: {
        std::vector<std::string> set;
        for (const auto& name : names) {
          if (random() % 2 == 0) {
            set.push_back(name);
          }
        }
        if (set.empty()) {
          set.push_back(names[random() % names.size()]);
        }
        if (AcquireSet(set, session, mode).queued) {
          queued.push_back(last_waiter_);
        }
        break;
      }
      case 1:
        if (Acquire(names[random() % names.size()], session, mode).queued) {
          queued.push_back(last_waiter_);
        }
        break;
      case 2:
        (void)Release(names[random() % names.size()], session);
        break;
      default:
        if (!queued.empty()) {
          (void)table_->CancelWait(queued[random() % queued.size()], Now(), effects_);
        }
        break;
    }
    effects_ = {};
    bool held = false;
    for (const auto& name : names) {
      const auto view = table_->Get(name, Now());
      const auto& holders = view->at("holders").as_array();
      held = held || !holders.empty();
      for (const auto& holder : holders) {
        if (holder.as_object().at("mode").as_string() == "exclusive") {
          ASSERT_EQ(holders.size(), 1u) << "step " << step;
        }
      }
    }
    ASSERT_TRUE(held || table_->waiting() == 0) << "stalled at step " << step;
  }
}

class LockHierarchyTest : public LockTableTest {
 protected:
  LockHierarchyTest()
      : LockTableTest(
            LockOptions{.hierarchy = {{"cluster/", 1}, {"node/", 2}, {"node/disk/", 3}}}) {}
};

TEST_F(LockHierarchyTest, TakingALowerLevelWhileHoldingAHigherIsAViolation) {
  EXPECT_EQ(table_->LevelOf("node/disk/sda"), 3);
  EXPECT_EQ(table_->LevelOf("node/7"), 2);
  EXPECT_FALSE(table_->LevelOf("free-form").has_value());
  Granted(Acquire("node/7", "s1"));
  effects_ = {};
  const std::uint64_t last = sequencer_.last();
  const Outcome violation = Acquire("cluster/main", "s1");
  ASSERT_FALSE(violation.queued);
  ASSERT_FALSE(violation.result.has_value());
  EXPECT_EQ(violation.result.error().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(violation.result.error().reason(), "lock_order_violation");
  EXPECT_EQ(AcquireSet({"node/disk/sda", "cluster/main"}, "s1").result.error().reason(),
            "lock_order_violation");
  EXPECT_THAT(Holders("cluster/main"), IsEmpty());
  EXPECT_THAT(Holders("node/disk/sda"), IsEmpty());
  EXPECT_TRUE(effects_.events.empty());
  EXPECT_EQ(sequencer_.last(), last);
  EXPECT_EQ(table_->waiting(), 0u);
}

TEST_F(LockHierarchyTest, SameOrHigherLevelsAndUnlevelledNamesAreAllowed) {
  Granted(Acquire("node/7", "s1"));
  Granted(Acquire("node/8", "s1"));
  Granted(Acquire("node/disk/sda", "s1"));
  Granted(Acquire("free-form", "s1"));
  EXPECT_EQ(Granted(Acquire("node/7", "s1")), table_->Get("node/7", Now())
                                                  ->at("holders")
                                                  .as_array()[0]
                                                  .as_object()
                                                  .at("token")
                                                  .to_number<std::uint64_t>());
  Granted(Acquire("cluster/main", "s2"));  // another session is unaffected
}

TEST(LockOptionsTest, ValidateRejectsBadFields) {
  EXPECT_TRUE(Validate(LockOptions{}).ok());
  EXPECT_EQ(Validate(LockOptions{.max_hold = std::chrono::milliseconds(0)}).reason(),
            "invalid_lock_options");
  EXPECT_FALSE(Validate(LockOptions{.max_renewals = -1}).ok());
  EXPECT_FALSE(Validate(LockOptions{.hierarchy = {{"", 1}}}).ok());
  EXPECT_FALSE(Validate(LockOptions{.hierarchy = {{"a/", 1}, {"a/", 2}}}).ok());
  EXPECT_FALSE(Validate(LockOptions{.max_set_size = 0}).ok());
}

TEST(LockModeTest, ParsesExclusiveAndShared) {
  EXPECT_EQ(ParseLockMode("exclusive"), LockMode::kExclusive);
  EXPECT_EQ(ParseLockMode("shared"), LockMode::kShared);
  EXPECT_EQ(ParseLockMode("write").error().reason(), "invalid_argument");
  EXPECT_EQ(LockModeName(LockMode::kShared), "shared");
}

}  // namespace
}  // namespace agentmesh::coord
