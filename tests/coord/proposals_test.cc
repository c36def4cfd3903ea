#include "agentmesh/coord/proposals.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/manual_clock.h"

namespace agentmesh::coord {
namespace {

using std::chrono::minutes;
using std::chrono::nanoseconds;

constexpr const char* kApprover = "security-pentesting-specialist";

// Five phase-1 agents, two phase-2 agents and the security approver (phase 2): 8 voters.
ProposalOptions Fleet() {
  ProposalOptions options;
  for (const char* a : {"p1a", "p1b", "p1c", "p1d", "p1e"}) {
    options.voters.push_back({a, 1});
  }
  options.voters.push_back({"p2a", 2});
  options.voters.push_back({"p2b", 2});
  options.voters.push_back({kApprover, 2});
  return options;
}

std::string OutcomeOf(const boost::json::object& view) {
  return std::string(view.at("outcome").as_string());
}

class ProposalTableTest : public ::testing::Test {
 protected:
  void Create(std::string_view id, ProposalKind kind) {
    Effects fx;
    auto created =
        table_.Create(id, kind, "subject of " + std::string(id), boost::json::object{{"k", 1}},
                      clock_.Now() + minutes(10), clock_.Now(), fx);
    ASSERT_TRUE(created.has_value()) << created.error().ToString();
  }
  core::Result<boost::json::object> Vote(std::string_view id, std::string_view voter,
                                         bool approve) {
    Effects fx;
    return table_.Vote(id, voter, approve, clock_.Now(), fx);
  }

  testing::ManualClock clock_;
  ProposalTable table_{Fleet()};
};

TEST_F(ProposalTableTest, CriticalIsApprovedAtThirdPhase1Approval) {
  Create("c1", ProposalKind::kCritical);
  EXPECT_EQ(OutcomeOf(*Vote("c1", "p1a", true)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("c1", "p1b", false)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("c1", "p1c", true)), "pending");
  Effects fx;
  auto decided = table_.Vote("c1", "p1d", true, clock_.Now(), fx);
  ASSERT_TRUE(decided.has_value());
  EXPECT_EQ(OutcomeOf(*decided), "approved");
  EXPECT_EQ(decided->at("approvals"), (boost::json::array{"p1a", "p1c", "p1d"}));
  EXPECT_EQ(decided->at("rejections"), (boost::json::array{"p1b"}));
  EXPECT_EQ(decided->at("required").as_object().at("approvals"), 3);
  EXPECT_EQ(decided->at("required").as_object().at("voters"), 5);
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].type, "proposal.decided");
  EXPECT_EQ(fx.events[0].data.at("outcome").as_string(), "approved");
  EXPECT_EQ(fx.dirty, (std::vector<Dirty>{{ObjectKind::kProposal, "c1"}}));
  EXPECT_EQ(table_.NextDeadline(), std::nullopt);
}

TEST_F(ProposalTableTest, CriticalNonPhase1VoterIsNotEligible) {
  Create("c1", ProposalKind::kCritical);
  for (const char* voter : {"p2a", kApprover, "stranger"}) {
    auto vote = Vote("c1", voter, true);
    ASSERT_FALSE(vote.has_value());
    EXPECT_EQ(vote.error().code(), core::StatusCode::kPermissionDenied);
    EXPECT_EQ(vote.error().reason(), "not_eligible");
  }
  EXPECT_EQ(table_.Get("c1", clock_.Now())->at("approvals"), boost::json::array());
}

TEST_F(ProposalTableTest, SecondVoteIsAlreadyVotedAndChangesNothing) {
  Create("c1", ProposalKind::kCritical);
  ASSERT_TRUE(Vote("c1", "p1a", true).has_value());
  Effects fx;
  auto again = table_.Vote("c1", "p1a", false, clock_.Now(), fx);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().reason(), "already_voted");
  EXPECT_TRUE(fx.dirty.empty());
  EXPECT_EQ(table_.Get("c1", clock_.Now())->at("rejections"), boost::json::array());
}

TEST_F(ProposalTableTest, CriticalIsRejectedOnceThreeApprovalsAreUnreachable) {
  Create("c1", ProposalKind::kCritical);
  EXPECT_EQ(OutcomeOf(*Vote("c1", "p1a", false)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("c1", "p1b", true)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("c1", "p1c", false)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("c1", "p1d", false)), "rejected");
}

TEST_F(ProposalTableTest, SystemWideNeedsTwoThirdsOfTheElectorate) {
  Create("s1", ProposalKind::kSystemWide);
  EXPECT_EQ(table_.Get("s1", clock_.Now())->at("required").as_object().at("approvals"), 6);
  const std::vector<std::string> voters = {"p2a", "p2b", kApprover, "p1a", "p1b"};
  for (const std::string& v : voters) {
    EXPECT_EQ(OutcomeOf(*Vote("s1", v, true)), "pending") << v;
  }
  EXPECT_EQ(OutcomeOf(*Vote("s1", "p1c", true)), "approved");

  Create("s2", ProposalKind::kSystemWide);
  EXPECT_EQ(OutcomeOf(*Vote("s2", "p2a", false)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("s2", "p2b", false)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("s2", "p1a", false)), "rejected");
}

TEST_F(ProposalTableTest, SystemWideMajorityOfSixtyNineIsFortySix) {
  ProposalOptions options;
  for (int i = 0; i < 69; ++i) {
    options.voters.push_back({"agent-" + std::to_string(i), 1 + i % 3});
  }
  ProposalTable table(options);
  Effects fx;
  auto created = table.Create("big", ProposalKind::kSystemWide, "resize", nullptr,
                              clock_.Now() + minutes(1), clock_.Now(), fx);
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(created->at("required").as_object().at("approvals"), 46);
}

TEST_F(ProposalTableTest, SecurityNeedsTheApproversApproval) {
  Create("sec1", ProposalKind::kSecurity);
  EXPECT_EQ(OutcomeOf(*Vote("sec1", "p1a", true)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("sec1", "p1b", true)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("sec1", "p1c", true)), "pending");
  EXPECT_EQ(Vote("sec1", "p2a", true).error().reason(), "not_eligible");
  auto decided = Vote("sec1", kApprover, true);
  EXPECT_EQ(OutcomeOf(*decided), "approved");
  EXPECT_EQ(decided->at("required").as_object().at("approver").as_string(), kApprover);

  Create("sec2", ProposalKind::kSecurity);
  EXPECT_EQ(OutcomeOf(*Vote("sec2", kApprover, true)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("sec2", "p1a", true)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("sec2", "p1b", true)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("sec2", "p1c", true)), "approved");

  Create("sec3", ProposalKind::kSecurity);
  EXPECT_EQ(OutcomeOf(*Vote("sec3", "p1a", true)), "pending");
  EXPECT_EQ(OutcomeOf(*Vote("sec3", kApprover, false)), "rejected");
}

TEST_F(ProposalTableTest, DeadlinePassingUndecidedExpiresIt) {
  Create("c1", ProposalKind::kCritical);
  ASSERT_TRUE(Vote("c1", "p1a", true).has_value());
  const core::TimePoint deadline = clock_.Now() + minutes(10);
  EXPECT_EQ(table_.NextDeadline(), deadline);
  clock_.Advance(minutes(10) - nanoseconds(1));
  Effects early;
  table_.Expire(clock_.Now(), early);
  EXPECT_TRUE(early.events.empty());
  clock_.Advance(nanoseconds(1));
  Effects fx;
  table_.Expire(clock_.Now(), fx);
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].type, "proposal.decided");
  EXPECT_EQ(fx.events[0].data.at("outcome").as_string(), "expired");
  EXPECT_EQ(fx.dirty, (std::vector<Dirty>{{ObjectKind::kProposal, "c1"}}));
  EXPECT_EQ(OutcomeOf(*table_.Get("c1", clock_.Now())), "expired");
  EXPECT_EQ(Vote("c1", "p1b", true).error().reason(), "proposal_closed");
  EXPECT_EQ(table_.NextDeadline(), std::nullopt);
}

TEST_F(ProposalTableTest, VoteAtDeadlineBeforeExpireRunsIsProposalClosed) {
  Create("c1", ProposalKind::kCritical);
  clock_.Advance(minutes(10));
  Effects fx;
  auto vote = table_.Vote("c1", "p1a", true, clock_.Now(), fx);
  EXPECT_EQ(vote.error().reason(), "proposal_closed");
  ASSERT_EQ(fx.events.size(), 1u);
  EXPECT_EQ(fx.events[0].data.at("outcome").as_string(), "expired");
}

TEST_F(ProposalTableTest, VotesAfterDecisionAreProposalClosed) {
  Create("c1", ProposalKind::kCritical);
  Vote("c1", "p1a", true);
  Vote("c1", "p1b", true);
  Vote("c1", "p1c", true);
  auto late = Vote("c1", "p1d", true);
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(late.error().reason(), "proposal_closed");
  EXPECT_EQ(Vote("missing", "p1a", true).error().reason(), "unknown_proposal");
}

TEST_F(ProposalTableTest, ElectorateTooSmallIsRejectedAtCreation) {
  ProposalOptions options;
  options.voters = {{"only-one", 1}, {"other", 2}};
  ProposalTable table(options);
  Effects fx;
  auto created = table.Create("c1", ProposalKind::kCritical, "x", nullptr,
                              clock_.Now() + minutes(1), clock_.Now(), fx);
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(OutcomeOf(*created), "rejected");
  ASSERT_EQ(fx.events.size(), 2u);
  EXPECT_EQ(fx.events[0].type, "proposal.created");
  EXPECT_EQ(fx.events[1].type, "proposal.decided");
}

TEST_F(ProposalTableTest, BadInputIsRejectedAndChangesNothing) {
  Create("c1", ProposalKind::kCritical);
  Effects fx;
  const auto now = clock_.Now();
  EXPECT_EQ(ParseProposalKind("urgent").error().reason(), "invalid_argument");
  EXPECT_EQ(*ParseProposalKind("system_wide"), ProposalKind::kSystemWide);
  EXPECT_EQ(table_.Create("c1", ProposalKind::kCritical, "s", nullptr, now + minutes(1), now, fx)
                .error()
                .reason(),
            "proposal_exists");
  EXPECT_EQ(
      table_.Create("c2", ProposalKind::kCritical, "s", nullptr, now, now, fx).error().reason(),
      "invalid_argument");
  EXPECT_EQ(table_.Create("c2", ProposalKind::kCritical, "", nullptr, now + minutes(1), now, fx)
                .error()
                .reason(),
            "invalid_argument");
  EXPECT_EQ(
      table_.Create("bad id", ProposalKind::kCritical, "s", nullptr, now + minutes(1), now, fx)
          .error()
          .reason(),
      "invalid_argument");
  EXPECT_TRUE(fx.dirty.empty());
  EXPECT_EQ(table_.size(), 1u);
}

TEST_F(ProposalTableTest, SnapshotRestoreRoundTripKeepsVotesAndRemainingTime) {
  Create("sec1", ProposalKind::kSecurity);
  clock_.Advance(minutes(4));
  Vote("sec1", "p1a", true);
  Vote("sec1", "p1b", false);
  Create("done", ProposalKind::kCritical);
  Vote("done", "p1a", true);
  Vote("done", "p1b", true);
  Vote("done", "p1c", true);
  const boost::json::object pending = table_.Snapshot("sec1");
  const boost::json::object decided = table_.Snapshot("done");
  EXPECT_TRUE(table_.Snapshot("missing").empty());
  EXPECT_EQ(pending.at("deadline_in_ms"), 6 * 60 * 1000);

  clock_.Advance(minutes(30));
  ProposalTable restarted(Fleet());
  ASSERT_TRUE(restarted.Restore("sec1", pending, clock_.Now()).ok());
  ASSERT_TRUE(restarted.Restore("done", decided, clock_.Now()).ok());
  EXPECT_EQ(restarted.NextDeadline(), clock_.Now() + minutes(6));
  EXPECT_EQ(restarted.Snapshot("sec1"), pending);
  auto got = restarted.Get("sec1", clock_.Now());
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(OutcomeOf(*got), "pending");
  EXPECT_EQ(got->at("payload"), (boost::json::object{{"k", 1}}));
  EXPECT_EQ(got->at("approvals"), (boost::json::array{"p1a"}));
  EXPECT_EQ(OutcomeOf(*restarted.Get("done", clock_.Now())), "approved");

  Effects fx;
  EXPECT_EQ(restarted.Vote("sec1", "p1a", true, clock_.Now(), fx).error().reason(),
            "already_voted");
  restarted.Vote("sec1", "p1c", true, clock_.Now(), fx);
  restarted.Vote("sec1", "p1d", true, clock_.Now(), fx);
  EXPECT_EQ(OutcomeOf(*restarted.Vote("sec1", kApprover, true, clock_.Now(), fx)), "approved");

  boost::json::object broken = pending;
  broken["kind"] = "urgent";
  EXPECT_EQ(restarted.Restore("x", broken, clock_.Now()).reason(), "invalid_snapshot");
}

}  // namespace
}  // namespace agentmesh::coord
