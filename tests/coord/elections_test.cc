#include "agentmesh/coord/elections.h"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "testing/manual_clock.h"

namespace agentmesh::coord {
namespace {

using std::chrono::seconds;

std::uint64_t Term(const boost::json::object& o) { return o.at("term").to_number<std::uint64_t>(); }
std::string LeaderSession(const boost::json::object& o) {
  return std::string(o.at("leader").as_object().at("session").as_string());
}

class ElectionTableTest : public ::testing::Test {
 protected:
  // Campaigns and expects an immediate answer.
  boost::json::object Elected(std::string_view name, std::string_view session,
                              std::string_view agent, std::uint64_t waiter) {
    Effects fx;
    Outcome out = table_.Campaign(name, session, agent, "v-" + std::string(session), waiter,
                                  clock_.Now(), fx);
    EXPECT_FALSE(out.queued);
    EXPECT_TRUE(out.result.has_value()) << out.result.error().ToString();
    return out.result.value_or(boost::json::object());
  }
  // Campaigns and expects to be queued.
  void Queued(std::string_view name, std::string_view session, std::string_view agent,
              std::uint64_t waiter) {
    Effects fx;
    Outcome out = table_.Campaign(name, session, agent, "v-" + std::string(session), waiter,
                                  clock_.Now(), fx);
    EXPECT_TRUE(out.queued);
    EXPECT_TRUE(fx.events.empty());
  }

  testing::ManualClock clock_;
  Sequencer sequencer_;
  ElectionTable table_{sequencer_};
};

TEST_F(ElectionTableTest, CampaignWithNoLeaderElectsAtOnceWithFreshTerm) {
  const std::uint64_t before = sequencer_.Next();
  Effects fx;
  Outcome out = table_.Campaign("coordinator/infra", "s1", "agent-a", "addr", 1, clock_.Now(), fx);
  ASSERT_FALSE(out.queued);
  ASSERT_TRUE(out.result.has_value());
  EXPECT_EQ(out.result->at("name").as_string(), "coordinator/infra");
  EXPECT_EQ(LeaderSession(*out.result), "s1");
  EXPECT_EQ(out.result->at("leader").as_object().at("agent").as_string(), "agent-a");
  EXPECT_EQ(out.result->at("leader").as_object().at("value").as_string(), "addr");
  EXPECT_GT(Term(*out.result), before);
  EXPECT_EQ(Term(*out.result), sequencer_.last());
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].type, "election.elected");
  EXPECT_EQ(fx.events[0].agent_id, "agent-a");
  EXPECT_EQ(fx.events[0].data.at("term"), out.result->at("term"));
  EXPECT_EQ(fx.events[0].data.at("leader"), out.result->at("leader"));
  EXPECT_EQ(fx.dirty, (std::vector<Dirty>{{ObjectKind::kElection, "coordinator/infra"}}));
}

TEST_F(ElectionTableTest, SecondCandidateIsElectedWithLargerTermWhenLeaderResigns) {
  const std::uint64_t first = Term(Elected("e", "s1", "agent-a", 1));
  Queued("e", "s2", "agent-b", 2);
  Effects fx;
  auto resigned = table_.Resign("e", "s1", "", clock_.Now(), fx);
  ASSERT_TRUE(resigned.has_value()) << resigned.error().ToString();
  EXPECT_EQ(LeaderSession(*resigned), "s2");
  EXPECT_EQ(resigned->at("resigned"), true);
  ASSERT_EQ(fx.wakeups.size(), 1u);
  EXPECT_EQ(fx.wakeups[0].waiter, 2u);
  ASSERT_TRUE(fx.wakeups[0].result.has_value());
  EXPECT_EQ(LeaderSession(*fx.wakeups[0].result), "s2");
  EXPECT_GT(Term(*fx.wakeups[0].result), first);
  ASSERT_EQ(fx.events.size(), 2u);
  EXPECT_EQ(fx.events[0].type, "election.resigned");
  EXPECT_EQ(fx.events[0].data.at("term").to_number<std::uint64_t>(), first);
  EXPECT_EQ(fx.events[1].type, "election.elected");
  EXPECT_EQ(LeaderSession(*table_.Get("e", clock_.Now())), "s2");
}

TEST_F(ElectionTableTest, SecondCandidateIsElectedWhenLeaderSessionIsReleased) {
  const std::uint64_t first = Term(Elected("e", "s1", "agent-a", 1));
  Queued("e", "s2", "agent-b", 2);
  Effects fx;
  table_.ReleaseSession("s1", clock_.Now(), fx);
  ASSERT_EQ(fx.wakeups.size(), 1u);
  EXPECT_EQ(fx.wakeups[0].waiter, 2u);
  EXPECT_GT(Term(*fx.wakeups[0].result), first);
  ASSERT_EQ(fx.events.size(), 2u);
  EXPECT_EQ(fx.events[0].type, "election.lost");
  EXPECT_EQ(fx.events[0].agent_id, "agent-a");
  EXPECT_EQ(fx.events[1].type, "election.elected");
  EXPECT_EQ(LeaderSession(*table_.Get("e", clock_.Now())), "s2");
}

TEST_F(ElectionTableTest, ReleasingTheOnlyLeaderDeletesTheElection) {
  Elected("e", "s1", "agent-a", 1);
  Effects fx;
  table_.ReleaseSession("s1", clock_.Now(), fx);
  EXPECT_FALSE(table_.Contains("e"));
  EXPECT_EQ(fx.dirty, (std::vector<Dirty>{{ObjectKind::kElection, "e"}}));
  EXPECT_EQ(table_.Get("e", clock_.Now()).error().reason(), "unknown_election");
}

TEST_F(ElectionTableTest, ReleaseSessionWakesItsQueuedCampaignWithUnknownSession) {
  Elected("e", "s1", "agent-a", 1);
  Queued("e", "s2", "agent-b", 2);
  Effects fx;
  table_.ReleaseSession("s2", clock_.Now(), fx);
  ASSERT_EQ(fx.wakeups.size(), 1u);
  EXPECT_EQ(fx.wakeups[0].waiter, 2u);
  EXPECT_EQ(fx.wakeups[0].result.error().reason(), "unknown_session");
  EXPECT_TRUE(fx.events.empty());
  EXPECT_EQ(table_.Get("e", clock_.Now())->at("candidates"), 0);
}

TEST_F(ElectionTableTest, ResignWithSuccessorAgentHandsToThatCandidateBehindTheHead) {
  Elected("e", "s1", "agent-a", 1);
  Queued("e", "s2", "agent-b", 2);
  Queued("e", "s3", "agent-c", 3);
  Effects fx;
  auto resigned = table_.Resign("e", "s1", "agent-c", clock_.Now(), fx);
  ASSERT_TRUE(resigned.has_value());
  EXPECT_EQ(LeaderSession(*resigned), "s3");
  ASSERT_EQ(fx.wakeups.size(), 1u);
  EXPECT_EQ(fx.wakeups[0].waiter, 3u);
  auto now = table_.Get("e", clock_.Now());
  EXPECT_EQ(LeaderSession(*now), "s3");
  EXPECT_EQ(now->at("candidates"), 1);
}

TEST_F(ElectionTableTest, ResignWithSuccessorSessionIdHandsToThatCandidate) {
  Elected("e", "s1", "agent-a", 1);
  Queued("e", "s2", "agent-b", 2);
  Queued("e", "s3", "agent-c", 3);
  Effects fx;
  auto resigned = table_.Resign("e", "s1", "s3", clock_.Now(), fx);
  ASSERT_TRUE(resigned.has_value());
  EXPECT_EQ(LeaderSession(*resigned), "s3");
}

TEST_F(ElectionTableTest, SuccessorNotCampaigningChangesNothing) {
  const auto before = Elected("e", "s1", "agent-a", 1);
  Queued("e", "s2", "agent-b", 2);
  Effects fx;
  auto resigned = table_.Resign("e", "s1", "agent-z", clock_.Now(), fx);
  ASSERT_FALSE(resigned.has_value());
  EXPECT_EQ(resigned.error().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(resigned.error().reason(), "successor_not_campaigning");
  EXPECT_TRUE(fx.dirty.empty());
  EXPECT_TRUE(fx.events.empty());
  EXPECT_TRUE(fx.wakeups.empty());
  auto now = table_.Get("e", clock_.Now());
  EXPECT_EQ(LeaderSession(*now), "s1");
  EXPECT_EQ(now->at("term"), before.at("term"));
  EXPECT_EQ(now->at("candidates"), 1);
}

TEST_F(ElectionTableTest, ResignByNonLeaderIsNotLeader) {
  Elected("e", "s1", "agent-a", 1);
  Queued("e", "s2", "agent-b", 2);
  Effects fx;
  auto resigned = table_.Resign("e", "s2", "", clock_.Now(), fx);
  ASSERT_FALSE(resigned.has_value());
  EXPECT_EQ(resigned.error().reason(), "not_leader");
  EXPECT_TRUE(fx.dirty.empty());
  EXPECT_EQ(LeaderSession(*table_.Get("e", clock_.Now())), "s1");
  EXPECT_EQ(table_.Resign("nope", "s1", "", clock_.Now(), fx).error().reason(), "unknown_election");
}

TEST_F(ElectionTableTest, CampaignAgainByLeaderIsIdempotentAndUpdatesValue) {
  const auto first = Elected("e", "s1", "agent-a", 1);
  Effects fx;
  Outcome again = table_.Campaign("e", "s1", "agent-a", "new-value", 2, clock_.Now(), fx);
  ASSERT_FALSE(again.queued);
  EXPECT_EQ(again.result->at("term"), first.at("term"));
  EXPECT_EQ(again.result->at("leader").as_object().at("value").as_string(), "new-value");
  EXPECT_TRUE(fx.events.empty());
  EXPECT_EQ(fx.dirty, (std::vector<Dirty>{{ObjectKind::kElection, "e"}}));
  EXPECT_FALSE(table_.CancelWait(2, fx));
}

TEST_F(ElectionTableTest, CancelWaitRemovesCandidateForGood) {
  Elected("e", "s1", "agent-a", 1);
  Queued("e", "s2", "agent-b", 2);
  Effects fx;
  EXPECT_TRUE(table_.CancelWait(2, fx));
  EXPECT_FALSE(table_.CancelWait(2, fx));
  auto resigned = table_.Resign("e", "s1", "", clock_.Now(), fx);
  ASSERT_TRUE(resigned.has_value());
  EXPECT_TRUE(resigned->at("leader").is_null());
  EXPECT_TRUE(fx.wakeups.empty());
  EXPECT_FALSE(table_.Contains("e"));
}

TEST_F(ElectionTableTest, CampaignAgainWhileQueuedReplacesEarlierRequest) {
  Elected("e", "s1", "agent-a", 1);
  Queued("e", "s2", "agent-b", 2);
  Effects fx;
  Outcome again = table_.Campaign("e", "s2", "agent-b", "v", 3, clock_.Now(), fx);
  EXPECT_TRUE(again.queued);
  ASSERT_EQ(fx.wakeups.size(), 1u);
  EXPECT_EQ(fx.wakeups[0].waiter, 2u);
  EXPECT_EQ(fx.wakeups[0].result.error().reason(), "not_elected");
  EXPECT_EQ(table_.Get("e", clock_.Now())->at("candidates"), 1);
  Effects resign_fx;
  ASSERT_TRUE(table_.Resign("e", "s1", "", clock_.Now(), resign_fx).has_value());
  ASSERT_EQ(resign_fx.wakeups.size(), 1u);
  EXPECT_EQ(resign_fx.wakeups[0].waiter, 3u);
}

TEST_F(ElectionTableTest, TermsStrictlyIncreaseAcrossHandoffsAndElections) {
  std::uint64_t last = Term(Elected("e", "s0", "agent-0", 100));
  for (int i = 1; i <= 5; ++i) {
    Queued("e", "s" + std::to_string(i), "agent-" + std::to_string(i), i);
  }
  for (int i = 0; i < 5; ++i) {
    Effects fx;
    auto resigned = table_.Resign("e", "s" + std::to_string(i), "", clock_.Now(), fx);
    ASSERT_TRUE(resigned.has_value());
    EXPECT_EQ(LeaderSession(*resigned), "s" + std::to_string(i + 1));
    EXPECT_GT(Term(*resigned), last);
    last = Term(*resigned);
    const std::uint64_t other = Term(Elected("other-" + std::to_string(i), "x", "agent-x", 0));
    EXPECT_GT(other, last);
    last = other;
  }
}

TEST_F(ElectionTableTest, InvalidNameIsRejected) {
  Effects fx;
  Outcome out = table_.Campaign("bad//name", "s1", "agent-a", "", 1, clock_.Now(), fx);
  ASSERT_FALSE(out.queued);
  EXPECT_EQ(out.result.error().reason(), "invalid_name");
  EXPECT_EQ(table_.size(), 0u);
}

TEST_F(ElectionTableTest, ListReturnsElectionsUnderPrefixByName) {
  Elected("coordinator/security", "s1", "agent-a", 1);
  Elected("coordinator/global", "s2", "agent-b", 2);
  Elected("jobs/nightly", "s3", "agent-c", 3);
  clock_.Advance(seconds(5));
  boost::json::array list = table_.List("coordinator/", clock_.Now());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].as_object().at("name").as_string(), "coordinator/global");
  EXPECT_EQ(list[1].as_object().at("name").as_string(), "coordinator/security");
  EXPECT_EQ(list[0].as_object().at("held_ms"), 5000);
}

TEST_F(ElectionTableTest, SnapshotRestoreRoundTripKeepsLeaderAndTerm) {
  const auto before = Elected("coordinator/global", "s1", "agent-a", 1);
  Queued("coordinator/global", "s2", "agent-b", 2);
  const boost::json::object snap = table_.Snapshot("coordinator/global");
  EXPECT_TRUE(table_.Snapshot("missing").empty());

  Sequencer restarted;
  restarted.Restore(sequencer_.ceiling());
  ElectionTable table(restarted);
  ASSERT_TRUE(table.Restore("coordinator/global", snap, clock_.Now()).ok());
  auto got = table.Get("coordinator/global", clock_.Now());
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->at("leader"), before.at("leader"));
  EXPECT_EQ(got->at("term"), before.at("term"));
  EXPECT_EQ(got->at("candidates"), 0);
  EXPECT_EQ(table.Snapshot("coordinator/global"), snap);

  Effects fx;
  Outcome queued = table.Campaign("coordinator/global", "s2", "agent-b", "", 7, clock_.Now(), fx);
  EXPECT_TRUE(queued.queued);
  auto resigned = table.Resign("coordinator/global", "s1", "agent-b", clock_.Now(), fx);
  ASSERT_TRUE(resigned.has_value());
  EXPECT_GT(Term(*resigned), Term(before));

  EXPECT_EQ(table.Restore("x", boost::json::object{{"term", 3}}, clock_.Now()).reason(),
            "invalid_snapshot");
}

}  // namespace
}  // namespace agentmesh::coord
