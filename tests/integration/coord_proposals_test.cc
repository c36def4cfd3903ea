// Quorum proposals of the real binary with the SutazAI fleet: who may vote (read from the
// fleet file), how many approvals decide, identity checks on votes, deadlines, the
// security approver, and the outcome as an event.
#include <chrono>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "agentmesh/config/fleet.h"

#include "integration/coord_api.h"
#include "integration/node_api.h"

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using testing::ErrorCodeOf;
using testing::Int;
using testing::JsonReply;
using testing::Str;
using testing::Strings;
namespace json = boost::json;

class CoordProposalsTest : public testing::CoordFixture {
 protected:
  void SetUp() override {
    auto fleet = config::LoadFleetFile(testing::kSutazaiFleet);
    ASSERT_TRUE(fleet.has_value()) << fleet.error().ToString();
    for (const config::FleetAgent& a : fleet->agents) {
      if (a.role == "security_approver") {
        approver_ = a.name;
      } else if (a.phase == 1) {
        phase1_.push_back(a.name);
      } else {
        later_.push_back(a.name);
      }
    }
    ASSERT_GE(phase1_.size(), 4u);
    ASSERT_FALSE(later_.empty());
    ASSERT_FALSE(approver_.empty());
    Start(testing::kCoordPolicy, /*with_fleet=*/true);
  }

  // Creates a proposal; returns its id ("" on failure).
  std::string Propose(const std::string& kind, const std::string& deadline = "10m") {
    const JsonReply r = api_.Post("/v1/proposals", {{"kind", kind},
                                                    {"subject", "roll out " + kind},
                                                    {"payload", {{"version", "1.2.3"}}},
                                                    {"deadline", deadline}});
    EXPECT_EQ(r.status, 201) << r.raw;
    EXPECT_EQ(Str(r.body, "outcome"), "pending") << r.raw;
    return Str(r.body, "id");
  }

  // Votes as `voter` with its own identity; returns the outcome the answer shows.
  std::string VoteAs(const std::string& id, const std::string& voter, bool approve) {
    const JsonReply r = api_.Vote(id, voter, approve, voter);
    EXPECT_EQ(r.status, 200) << voter << ": " << r.raw;
    return Str(r.body, "outcome");
  }

  std::string Outcome(const std::string& id) {
    return Str(api_.Get("/v1/proposals/" + id).body, "outcome");
  }

  // Whether a proposal.decided event for `id` with `outcome` was emitted.
  bool Decided(const std::string& id, const std::string& outcome) {
    for (const json::object& e : api_.Events("proposal.decided")) {
      if (Str(e.at("data"), "id") == id && Str(e.at("data"), "outcome") == outcome) {
        return true;
      }
    }
    return false;
  }

  std::vector<std::string> phase1_;  // phase-1 agents other than the security approver
  std::vector<std::string> later_;   // agents of phases 2 and 3
  std::string approver_;
};

TEST_P(CoordProposalsTest, CriticalIsApprovedByThreePhaseOneAgents) {
  const std::string id = Propose("critical");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(VoteAs(id, phase1_[0], true), "pending");
  EXPECT_EQ(VoteAs(id, phase1_[1], true), "pending");
  EXPECT_FALSE(Decided(id, "approved"));
  EXPECT_EQ(VoteAs(id, phase1_[2], true), "approved");

  const JsonReply view = api_.Get("/v1/proposals/" + id);
  ASSERT_EQ(view.status, 200) << view.raw;
  EXPECT_EQ(Str(view.body, "outcome"), "approved");
  EXPECT_EQ(Strings(view.body, "approvals").size(), 3u);
  EXPECT_EQ(Int(view.body.at("required"), "approvals"), 3);
  EXPECT_EQ(Str(view.body.at("payload"), "version"), "1.2.3");
  EXPECT_TRUE(testing::WaitFor([&] { return Decided(id, "approved"); }, 5s));

  const JsonReply late = api_.Vote(id, phase1_[3], true, phase1_[3]);
  EXPECT_EQ(late.status, 409) << late.raw;
  EXPECT_EQ(ErrorCodeOf(late), "proposal_closed");
}

TEST_P(CoordProposalsTest, VotesNeedTheVotersOwnEligibleIdentityOnce) {
  const std::string id = Propose("critical");
  ASSERT_FALSE(id.empty());
  struct Case {
    std::string voter;
    std::string header;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {later_[0], later_[0], 403, "not_eligible"},
      {phase1_[0], "", 401, "identity_required"},
      {phase1_[0], phase1_[1], 403, "not_your_vote"},
      {"not-in-the-fleet", "not-in-the-fleet", 403, "not_eligible"},
  };
  for (const Case& c : cases) {
    const JsonReply r = api_.Vote(id, c.voter, true, c.header);
    EXPECT_EQ(r.status, c.status) << c.voter << " as " << c.header << ": " << r.raw;
    EXPECT_EQ(ErrorCodeOf(r), c.code) << c.voter << " as " << c.header << ": " << r.raw;
  }
  EXPECT_EQ(VoteAs(id, phase1_[0], true), "pending");
  const JsonReply twice = api_.Vote(id, phase1_[0], false, phase1_[0]);
  EXPECT_EQ(twice.status, 409) << twice.raw;
  EXPECT_EQ(ErrorCodeOf(twice), "already_voted");

  const JsonReply view = api_.Get("/v1/proposals/" + id);
  EXPECT_EQ(Strings(view.body, "approvals"), std::vector<std::string>{phase1_[0]});
  EXPECT_TRUE(Strings(view.body, "rejections").empty());
  EXPECT_EQ(Str(view.body, "outcome"), "pending");
  EXPECT_EQ(ErrorCodeOf(api_.Vote("no-such-proposal", phase1_[0], true, phase1_[0])),
            "unknown_proposal");
}

TEST_P(CoordProposalsTest, ShortDeadlineExpiresTheProposal) {
  const std::string id = Propose("critical", "1s");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(VoteAs(id, phase1_[0], true), "pending");
  EXPECT_TRUE(testing::WaitFor([&] { return Outcome(id) == "expired"; }, 5s));
  EXPECT_TRUE(testing::WaitFor([&] { return Decided(id, "expired"); }, 2s));
  EXPECT_EQ(ErrorCodeOf(api_.Vote(id, phase1_[1], true, phase1_[1])), "proposal_closed");
}

TEST_P(CoordProposalsTest, SecurityNeedsTheSecurityApprover) {
  const std::string approved = Propose("security");
  ASSERT_FALSE(approved.empty());
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(VoteAs(approved, phase1_[i], true), "pending") << phase1_[i];
  }
  EXPECT_EQ(VoteAs(approved, approver_, true), "approved");
  EXPECT_TRUE(testing::WaitFor([&] { return Decided(approved, "approved"); }, 5s));

  const std::string vetoed = Propose("security");
  ASSERT_FALSE(vetoed.empty());
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(VoteAs(vetoed, phase1_[i], true), "pending");
  }
  EXPECT_EQ(VoteAs(vetoed, approver_, false), "rejected");
  EXPECT_EQ(Outcome(vetoed), "rejected");
  EXPECT_TRUE(testing::WaitFor([&] { return Decided(vetoed, "rejected"); }, 5s));
}

TEST_P(CoordProposalsTest, SystemWideNeedsTwoThirdsOfTheFleet) {
  const std::string id = Propose("system_wide");
  ASSERT_FALSE(id.empty());
  const std::size_t fleet = phase1_.size() + later_.size() + 1;
  const long long required = (2 * static_cast<long long>(fleet) + 2) / 3;
  EXPECT_EQ(Int(api_.Get("/v1/proposals/" + id).body.at("required"), "approvals"), required);
  std::vector<std::string> voters = later_;
  voters.insert(voters.end(), phase1_.begin(), phase1_.end());
  for (long long i = 0; i + 1 < required; ++i) {
    ASSERT_EQ(VoteAs(id, voters[i], true), "pending") << i;
  }
  EXPECT_EQ(VoteAs(id, voters[required - 1], true), "approved");
}

TEST_P(CoordProposalsTest, BadProposalsAre400) {
  struct Case {
    std::string body;
    std::string code;
  };
  const std::vector<Case> cases = {
      {R"({"kind":"critical","subject":"x"})", "missing_field"},
      {R"({"kind":"urgent","subject":"x","deadline":"10m"})", "invalid_argument"},
      {R"({"kind":"critical","subject":"x","deadline":"never"})", "invalid_duration"},
      {R"({"kind":"critical","subject":"x","deadline":"10m","quorum":2})", "unknown_field"},
      {R"({"kind":"critical","subject":"","deadline":"10m"})", "invalid_argument"},
  };
  for (const Case& c : cases) {
    const JsonReply r = api_.Send("POST", "/v1/proposals", c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.raw;
    EXPECT_EQ(ErrorCodeOf(r), c.code) << c.body << " -> " << r.raw;
  }
  EXPECT_TRUE(api_.Events("proposal.created").empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, CoordProposalsTest, testing::BothBackends(),
                         testing::BackendParamName);

}  // namespace
}  // namespace agentmesh
