// Leader elections of the real binary: campaign and wait, resign with a named successor,
// strictly increasing terms, coordinator roles from the fleet, GET /v1/coordinators and
// the Server-Sent Events watch.
#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "integration/coord_api.h"
#include "integration/node_api.h"

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using testing::Async;
using testing::ErrorCodeOf;
using testing::Int;
using testing::JsonReply;
using testing::Str;
using testing::Strings;
using testing::Uint;
namespace json = boost::json;

class CoordElectionsTest : public testing::CoordFixture {};

// The session id of the leader in an election view ("" when none).
std::string LeaderSession(const json::value& view) {
  const json::value* leader = view.is_object() ? view.as_object().if_contains("leader") : nullptr;
  return leader != nullptr ? Str(*leader, "session") : "";
}

std::string LeaderAgent(const json::value& view) {
  const json::value* leader = view.is_object() ? view.as_object().if_contains("leader") : nullptr;
  return leader != nullptr ? Str(*leader, "agent") : "";
}

TEST_P(CoordElectionsTest, CampaignElectsAndTheNextCandidateWaits) {
  Start();
  const std::string a = api_.Session("alpha");
  const std::string b = api_.Session("bravo");
  const JsonReply elected = api_.Campaign("el", a, 0, "http://alpha:1");
  ASSERT_EQ(elected.status, 200) << elected.raw;
  EXPECT_EQ(LeaderSession(elected.body), a);
  EXPECT_EQ(Str(elected.body.at("leader"), "value"), "http://alpha:1");
  const unsigned long long term = Uint(elected.body, "term");
  EXPECT_GT(term, 0u);

  const JsonReply view = api_.GetElection("el");
  ASSERT_EQ(view.status, 200) << view.raw;
  EXPECT_EQ(LeaderSession(view.body), a);
  EXPECT_EQ(LeaderAgent(view.body), "alpha");
  EXPECT_EQ(Uint(view.body, "term"), term);
  EXPECT_EQ(Int(view.body, "candidates"), 0);
  // Campaigning again as the leader keeps the term.
  EXPECT_EQ(Uint(api_.Campaign("el", a, 0, "http://alpha:1").body, "term"), term);

  const JsonReply refused = api_.Campaign("el", b, 200);
  EXPECT_EQ(refused.status, 409) << refused.raw;
  EXPECT_EQ(ErrorCodeOf(refused), "not_elected");
  EXPECT_EQ(ErrorCodeOf(api_.Resign("el", b)), "not_leader");

  auto waiting = Async([&] { return api_.Campaign("el", b, 8000); });
  ASSERT_TRUE(
      testing::WaitFor([&] { return Int(api_.GetElection("el").body, "candidates") == 1; }, 5s));
  EXPECT_EQ(waiting.wait_for(0ms), std::future_status::timeout);
  const JsonReply resigned = api_.Resign("el", a);
  ASSERT_EQ(resigned.status, 200) << resigned.raw;
  const JsonReply next = waiting.get().reply;
  ASSERT_EQ(next.status, 200) << next.raw;
  EXPECT_EQ(LeaderSession(next.body), b);
  EXPECT_GT(Uint(next.body, "term"), term);
  EXPECT_EQ(LeaderSession(api_.GetElection("el").body), b);
  EXPECT_TRUE(api_.HasEvent("election.resigned", "name", "el"));
}

TEST_P(CoordElectionsTest, ResignHandsOffToTheNamedSuccessorWithinOneSecond) {
  Start();
  const std::string a = api_.Session("alpha");
  const std::string b = api_.Session("bravo");
  const std::string c = api_.Session("charlie");
  ASSERT_EQ(api_.Campaign("el", a).status, 200);
  auto bravo = Async([&] { return api_.Campaign("el", b, 8000); });
  ASSERT_TRUE(
      testing::WaitFor([&] { return Int(api_.GetElection("el").body, "candidates") == 1; }, 5s));
  auto charlie = Async([&] { return api_.Campaign("el", c, 8000); });
  ASSERT_TRUE(
      testing::WaitFor([&] { return Int(api_.GetElection("el").body, "candidates") == 2; }, 5s));
  const unsigned long long term = Uint(api_.GetElection("el").body, "term");

  // Charlie queued behind bravo, but the leader names charlie.
  const auto resigned_at = std::chrono::steady_clock::now();
  const JsonReply resigned = api_.Resign("el", a, "charlie");
  ASSERT_EQ(resigned.status, 200) << resigned.raw;
  const testing::TimedReply handed = charlie.get();
  ASSERT_EQ(handed.reply.status, 200) << handed.reply.raw;
  EXPECT_LT(testing::MillisBetween(resigned_at, handed.at), 1000);
  EXPECT_EQ(LeaderAgent(handed.reply.body), "charlie");
  EXPECT_GT(Uint(handed.reply.body, "term"), term);
  const JsonReply view = api_.GetElection("el");
  EXPECT_EQ(LeaderSession(view.body), c);
  EXPECT_EQ(Int(view.body, "candidates"), 1);
  EXPECT_EQ(bravo.wait_for(0ms), std::future_status::timeout);

  // A successor named by session id works too.
  ASSERT_EQ(api_.Resign("el", c, b).status, 200);
  const JsonReply last = bravo.get().reply;
  ASSERT_EQ(last.status, 200) << last.raw;
  EXPECT_EQ(LeaderSession(last.body), b);
}

TEST_P(CoordElectionsTest, SuccessorWhoIsNotCampaigningIs409AndChangesNothing) {
  Start();
  const std::string a = api_.Session("alpha");
  const std::string b = api_.Session("bravo");
  const JsonReply elected = api_.Campaign("el", a);
  ASSERT_EQ(elected.status, 200);
  for (const std::string& successor : {std::string("bravo"), std::string("nobody"), b}) {
    const JsonReply r = api_.Resign("el", a, successor);
    EXPECT_EQ(r.status, 409) << r.raw;
    EXPECT_EQ(ErrorCodeOf(r), "successor_not_campaigning") << successor;
  }
  const JsonReply view = api_.GetElection("el");
  EXPECT_EQ(LeaderSession(view.body), a);
  EXPECT_EQ(Uint(view.body, "term"), Uint(elected.body, "term"));
  EXPECT_FALSE(api_.HasEvent("election.resigned", "name", "el"));
}

TEST_P(CoordElectionsTest, TermsStrictlyIncreaseAcrossElectionsAndLocks) {
  Start();
  const std::vector<std::string> sessions = {api_.Session("alpha"), api_.Session("bravo")};
  unsigned long long last = 0;
  for (int i = 0; i < 12; ++i) {
    const std::string& s = sessions[i % 2];
    const std::string name = "el-" + std::to_string(i % 2);
    const JsonReply r = api_.Campaign(name, s);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_GT(Uint(r.body, "term"), last) << "campaign " << i;
    last = Uint(r.body, "term");
    // Terms and fencing tokens come from one sequence.
    const JsonReply lock = api_.Acquire("res", s);
    ASSERT_EQ(lock.status, 200) << lock.raw;
    EXPECT_GT(Uint(lock.body, "token"), last);
    last = Uint(lock.body, "token");
    ASSERT_EQ(api_.Release("res", s).status, 200);
    ASSERT_EQ(api_.Resign(name, s).status, 200);
  }
  EXPECT_EQ(ErrorCodeOf(api_.GetElection("el-0")), "unknown_election");
}

TEST_P(CoordElectionsTest, CoordinatorRolesFollowTheFleet) {
  Start(testing::kCoordPolicy, /*with_fleet=*/true);
  const std::string architect = api_.Session("ai-system-architect");
  const std::string auditor = api_.Session("mega-code-auditor");
  const std::string orchestrator = api_.Session("ai-agent-orchestrator");

  const JsonReply refused = api_.Campaign("coordinator/global", architect);
  EXPECT_EQ(refused.status, 403) << refused.raw;
  EXPECT_EQ(ErrorCodeOf(refused), "not_eligible");
  EXPECT_EQ(api_.GetElection("coordinator/global").status, 404);
  const JsonReply global = api_.Campaign("coordinator/global", orchestrator);
  ASSERT_EQ(global.status, 200) << global.raw;

  const JsonReply other_domain = api_.Campaign("coordinator/architecture", auditor);
  EXPECT_EQ(other_domain.status, 403) << other_domain.raw;
  EXPECT_EQ(ErrorCodeOf(other_domain), "not_eligible");
  ASSERT_EQ(api_.Campaign("coordinator/architecture", architect).status, 200);
  ASSERT_EQ(api_.Campaign("coordinator/quality", auditor).status, 200);

  const JsonReply roles = api_.Get("/v1/coordinators");
  ASSERT_EQ(roles.status, 200) << roles.raw;
  const json::value& g = roles.body.at("global");
  EXPECT_EQ(Str(g, "election"), "coordinator/global");
  EXPECT_EQ(Str(g, "eligible"), "ai-agent-orchestrator");
  EXPECT_EQ(Str(g.at("holder"), "agent"), "ai-agent-orchestrator");
  EXPECT_EQ(Uint(g.at("holder"), "term"), Uint(global.body, "term"));
  std::map<std::string, json::value> domains;
  for (const json::value& d : roles.body.at("domains").as_array()) {
    domains[Str(d, "domain")] = d;
  }
  ASSERT_TRUE(domains.contains("architecture")) << roles.raw;
  EXPECT_EQ(Str(domains["architecture"].at("holder"), "agent"), "ai-system-architect");
  EXPECT_EQ(Str(domains["quality"].at("holder"), "agent"), "mega-code-auditor");
  ASSERT_TRUE(domains.contains("deployment")) << roles.raw;
  EXPECT_TRUE(domains["deployment"].at("holder").is_null());
  const std::vector<std::string> deployment = Strings(domains["deployment"], "eligible");
  for (const char* agent : {"deployment-automation-master", "infrastructure-devops-manager",
                            "cicd-pipeline-orchestrator"}) {
    EXPECT_NE(std::find(deployment.begin(), deployment.end(), agent), deployment.end()) << agent;
  }
  EXPECT_EQ(Str(domains["deployment"], "election"), "coordinator/deployment");
}

TEST_P(CoordElectionsTest, WatchStreamsTheStateNowAndAfterEachChange) {
  Start();
  testing::SseReader watch;
  ASSERT_EQ(watch.Open(node_.port(), "/v1/elections/el/watch", 5s), "");
  const auto initial = watch.Next(5s);
  ASSERT_TRUE(initial.has_value());
  EXPECT_TRUE(initial->at("leader").is_null());

  const std::string a = api_.Session("alpha");
  const std::string b = api_.Session("bravo");
  const JsonReply elected = api_.Campaign("el", a, 0, "v1");
  ASSERT_EQ(elected.status, 200);
  const auto first = watch.Next(5s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(LeaderSession(*first), a);
  EXPECT_EQ(Uint(*first, "term"), Uint(elected.body, "term"));

  auto waiting = Async([&] { return api_.Campaign("el", b, 8000); });
  ASSERT_TRUE(
      testing::WaitFor([&] { return Int(api_.GetElection("el").body, "candidates") == 1; }, 5s));
  ASSERT_EQ(api_.Resign("el", a).status, 200);
  ASSERT_EQ(waiting.get().reply.status, 200);
  const auto second = watch.Next(5s);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(LeaderSession(*second), b);
  EXPECT_GT(Uint(*second, "term"), Uint(elected.body, "term"));

  ASSERT_EQ(api_.Resign("el", b).status, 200);
  const auto third = watch.Next(5s);
  ASSERT_TRUE(third.has_value());
  EXPECT_TRUE(third->at("leader").is_null());
}

INSTANTIATE_TEST_SUITE_P(Backends, CoordElectionsTest, testing::BothBackends(),
                         testing::BackendParamName);

}  // namespace
}  // namespace agentmesh
