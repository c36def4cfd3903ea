#include "agentmesh/coord/barriers.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/manual_clock.h"

namespace agentmesh::coord {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

boost::json::array Names(std::initializer_list<const char*> names) {
  boost::json::array out;
  for (const char* n : names) {
    out.emplace_back(n);
  }
  return out;
}

class BarrierTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Effects fx;
    auto created = table_.Create("deploy/v2", {"a", "b", "c"}, seconds(0), clock_.Now(), fx);
    ASSERT_TRUE(created.has_value()) << created.error().ToString();
    created_at_ = clock_.Now();
  }
  Outcome Arrive(std::string_view who, std::uint64_t waiter, Effects& fx) {
    return table_.Arrive("deploy/v2", who, waiter, clock_.Now(), fx);
  }

  testing::ManualClock clock_;
  BarrierTable table_;
  core::TimePoint created_at_;
};

TEST_F(BarrierTableTest, CreateUsesDefaultTtlAndShowsEveryoneMissing) {
  auto got = table_.Get("deploy/v2", clock_.Now());
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->at("participants"), Names({"a", "b", "c"}));
  EXPECT_EQ(got->at("arrived"), Names({}));
  EXPECT_EQ(got->at("missing"), Names({"a", "b", "c"}));
  EXPECT_EQ(got->at("complete"), false);
  EXPECT_EQ(got->at("ttl").as_string(), "5m");
  EXPECT_EQ(got->at("expires_in_ms"), 300000);
  EXPECT_EQ(table_.NextDeadline(), created_at_ + minutes(5));
}

TEST_F(BarrierTableTest, CompletesWhenLastParticipantArrivesAndWakesEveryParkedArriver) {
  Effects fx;
  EXPECT_TRUE(Arrive("a", 1, fx).queued);
  clock_.Advance(seconds(1));
  EXPECT_TRUE(Arrive("b", 2, fx).queued);
  EXPECT_TRUE(fx.wakeups.empty());
  EXPECT_EQ(table_.Get("deploy/v2", clock_.Now())->at("missing"), Names({"c"}));

  Effects last;
  Outcome done = Arrive("c", 3, last);
  ASSERT_FALSE(done.queued);
  ASSERT_TRUE(done.result.has_value());
  EXPECT_EQ(done.result->at("complete"), true);
  EXPECT_EQ(done.result->at("arrived"), Names({"a", "b", "c"}));
  EXPECT_EQ(done.result->at("missing"), Names({}));
  ASSERT_EQ(last.wakeups.size(), 2u);
  EXPECT_EQ(last.wakeups[0].waiter, 1u);
  EXPECT_EQ(last.wakeups[1].waiter, 2u);
  for (const Wakeup& w : last.wakeups) {
    ASSERT_TRUE(w.result.has_value());
    EXPECT_EQ(w.result->at("complete"), true);
  }
  ASSERT_EQ(last.events.size(), 1u);
  EXPECT_EQ(last.events[0].type, "barrier.completed");
  EXPECT_EQ(last.dirty, (std::vector<Dirty>{{ObjectKind::kBarrier, "deploy/v2"}}));
}

TEST_F(BarrierTableTest, ArrivingAtCompletedBarrierAnswersAtOnce) {
  Effects fx;
  Arrive("a", 1, fx);
  Arrive("b", 2, fx);
  Arrive("c", 3, fx);
  Effects again;
  Outcome out = Arrive("a", 4, again);
  ASSERT_FALSE(out.queued);
  EXPECT_EQ(out.result->at("complete"), true);
  EXPECT_TRUE(again.events.empty());
  EXPECT_TRUE(again.dirty.empty());
}

TEST_F(BarrierTableTest, NonParticipantIsRejected) {
  Effects fx;
  Outcome out = Arrive("mallory", 1, fx);
  ASSERT_FALSE(out.queued);
  EXPECT_EQ(out.result.error().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(out.result.error().reason(), "not_participant");
  EXPECT_TRUE(fx.dirty.empty());
  EXPECT_EQ(table_.Arrive("nope", "a", 2, clock_.Now(), fx).result.error().reason(),
            "unknown_barrier");
}

TEST_F(BarrierTableTest, ExpiryAtExactlyItsTtlWakesArriversWithBarrierExpired) {
  Effects fx;
  Arrive("a", 1, fx);
  Arrive("b", 2, fx);
  clock_.Advance(minutes(5) - nanoseconds(1));
  Effects early;
  table_.Expire(clock_.Now(), early);
  EXPECT_TRUE(early.wakeups.empty());
  EXPECT_TRUE(table_.Contains("deploy/v2"));

  clock_.Advance(nanoseconds(1));
  ASSERT_EQ(table_.NextDeadline(), clock_.Now());
  Effects expired;
  table_.Expire(clock_.Now(), expired);
  ASSERT_EQ(expired.wakeups.size(), 2u);
  for (const Wakeup& w : expired.wakeups) {
    ASSERT_FALSE(w.result.has_value());
    EXPECT_EQ(w.result.error().reason(), "barrier_expired");
  }
  ASSERT_EQ(expired.events.size(), 1u);
  EXPECT_EQ(expired.events[0].type, "barrier.expired");
  EXPECT_EQ(expired.events[0].data.at("missing"), Names({"c"}));
  EXPECT_EQ(expired.dirty, (std::vector<Dirty>{{ObjectKind::kBarrier, "deploy/v2"}}));
  EXPECT_FALSE(table_.Contains("deploy/v2"));
  EXPECT_EQ(table_.NextDeadline(), std::nullopt);
}

TEST_F(BarrierTableTest, ArrivingAfterTtlBeforeExpireRunsIsBarrierExpired) {
  Effects fx;
  Arrive("a", 1, fx);
  clock_.Advance(minutes(5));
  Effects late;
  Outcome out = Arrive("b", 2, late);
  ASSERT_FALSE(out.queued);
  EXPECT_EQ(out.result.error().reason(), "barrier_expired");
  ASSERT_EQ(late.wakeups.size(), 1u);
  EXPECT_EQ(late.wakeups[0].waiter, 1u);
  EXPECT_FALSE(table_.Contains("deploy/v2"));
}

TEST_F(BarrierTableTest, CancelledArriverIsNotWokenButStaysArrived) {
  Effects fx;
  Arrive("a", 1, fx);
  EXPECT_TRUE(table_.CancelWait(1, fx));
  EXPECT_FALSE(table_.CancelWait(1, fx));
  Arrive("b", 2, fx);
  Effects last;
  Outcome done = Arrive("c", 3, last);
  EXPECT_EQ(done.result->at("complete"), true);
  ASSERT_EQ(last.wakeups.size(), 1u);
  EXPECT_EQ(last.wakeups[0].waiter, 2u);
}

TEST_F(BarrierTableTest, CreateOverLiveBarrierIsBarrierExistsUntilItExpires) {
  Effects fx;
  auto dup = table_.Create("deploy/v2", {"x"}, seconds(10), clock_.Now(), fx);
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code(), core::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.error().reason(), "barrier_exists");
  clock_.Advance(minutes(5));
  auto fresh = table_.Create("deploy/v2", {"x"}, seconds(10), clock_.Now(), fx);
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->at("participants"), Names({"x"}));
  EXPECT_EQ(table_.NextDeadline(), clock_.Now() + seconds(10));
}

TEST_F(BarrierTableTest, BadParticipantsTtlOrNameChangeNothing) {
  Effects fx;
  const auto now = clock_.Now();
  EXPECT_EQ(table_.Create("b1", {}, seconds(10), now, fx).error().reason(), "invalid_argument");
  EXPECT_EQ(table_.Create("b1", {"a", "a"}, seconds(10), now, fx).error().reason(),
            "invalid_argument");
  EXPECT_EQ(table_.Create("b1", {"-bad"}, seconds(10), now, fx).error().reason(),
            "invalid_argument");
  EXPECT_EQ(table_.Create("b1", {"a"}, milliseconds(10), now, fx).error().reason(), "invalid_ttl");
  EXPECT_EQ(table_.Create("b1", {"a"}, std::chrono::hours(25), now, fx).error().reason(),
            "invalid_ttl");
  EXPECT_EQ(table_.Create("/b1", {"a"}, seconds(10), now, fx).error().reason(), "invalid_name");
  std::vector<std::string> many(1001);
  for (std::size_t i = 0; i < many.size(); ++i) {
    many[i] = "p" + std::to_string(i);
  }
  EXPECT_EQ(table_.Create("b1", many, seconds(10), now, fx).error().reason(), "invalid_argument");
  EXPECT_TRUE(fx.dirty.empty());
  EXPECT_EQ(table_.size(), 1u);
}

TEST_F(BarrierTableTest, SnapshotRestoreRoundTripKeepsArrivalsAndRemainingTtl) {
  Effects fx;
  clock_.Advance(seconds(60));
  Arrive("b", 1, fx);
  const boost::json::object snap = table_.Snapshot("deploy/v2");
  EXPECT_TRUE(table_.Snapshot("missing").empty());
  EXPECT_EQ(snap.at("expires_in_ms"), 240000);

  clock_.Advance(seconds(30));
  BarrierTable restarted;
  ASSERT_TRUE(restarted.Restore("deploy/v2", snap, clock_.Now()).ok());
  EXPECT_EQ(restarted.NextDeadline(), clock_.Now() + seconds(240));
  auto got = restarted.Get("deploy/v2", clock_.Now());
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->at("arrived"), Names({"b"}));
  EXPECT_EQ(got->at("missing"), Names({"a", "c"}));
  EXPECT_EQ(got->at("ttl").as_string(), "5m");
  EXPECT_EQ(restarted.Snapshot("deploy/v2"), snap);

  Effects after;
  EXPECT_TRUE(restarted.Arrive("deploy/v2", "a", 2, clock_.Now(), after).queued);
  Outcome done = restarted.Arrive("deploy/v2", "c", 3, clock_.Now(), after);
  EXPECT_EQ(done.result->at("complete"), true);

  boost::json::object broken = snap;
  broken["arrived"] = Names({"zed"});
  EXPECT_EQ(restarted.Restore("x", broken, clock_.Now()).reason(), "invalid_snapshot");
}

}  // namespace
}  // namespace agentmesh::coord
