// The coordination commands of the agentmesh binary against a live node: sessions,
// locks, elections (with watch), barriers, proposals, coordinators, and their exit codes
// (0 ok, 1 API error with code and message, 2 usage), on both coordination backends.
#include <atomic>
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "integration/coord_api.h"
#include "integration/node_api.h"

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using testing::CommandResult;
using testing::Str;
namespace json = boost::json;

constexpr auto kCommandTimeout = 30s;

CommandResult Agentmesh(std::vector<std::string> args,
                        std::chrono::milliseconds timeout = kCommandTimeout) {
  args.insert(args.begin(), AGENTMESH_BINARY);
  return testing::RunCommand(args, timeout);
}

json::value ParseOut(const CommandResult& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.out, ec);
  return ec ? json::value() : v;
}

// A node with the SutazAI fleet, so that proposals have an electorate and coordinator
// roles have eligible agents; the default policy on the backend of the instance.
class CoordCliTest : public ::testing::TestWithParam<testing::CoordBackend> {
 protected:
  void SetUp() override { ASSERT_EQ(node_.Start("", /*with_fleet=*/true), ""); }

  // Runs `agentmesh ARGS --node URL`.
  CommandResult Run(std::vector<std::string> args,
                    std::chrono::milliseconds timeout = kCommandTimeout) {
    args.push_back("--node");
    args.push_back(node_.url());
    return Agentmesh(std::move(args), timeout);
  }

  std::string NewSession(const std::string& agent) {
    const CommandResult r = Run({"sessions", "create", "--agent", agent, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string id = Str(ParseOut(r), "id");
    EXPECT_FALSE(id.empty()) << r.out;
    return id;
  }

  testing::CoordNode node_{GetParam()};
};

TEST_P(CoordCliTest, SessionsCreateGetRenewAndDestroy) {
  const CommandResult created =
      Run({"sessions", "create", "--agent", "mega-code-auditor", "--ttl", "45s"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(created.out, m, std::regex("session +(\\S+)"))) << created.out;
  const std::string id = m[1];
  EXPECT_NE(created.out.find("45s"), std::string::npos) << created.out;

  const CommandResult got = Run({"sessions", "get", id, "--json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(Str(ParseOut(got), "agent"), "mega-code-auditor");
  EXPECT_EQ(Run({"sessions", "renew", id}).exit_code, 0);
  const CommandResult destroyed = Run({"sessions", "destroy", id});
  EXPECT_EQ(destroyed.exit_code, 0) << destroyed.err;
  EXPECT_NE(destroyed.out.find("destroyed session " + id), std::string::npos) << destroyed.out;

  const CommandResult gone = Run({"sessions", "get", id});
  EXPECT_EQ(gone.exit_code, 1) << gone.out;
  EXPECT_NE(gone.err.find("unknown_session"), std::string::npos) << gone.err;
}

TEST_P(CoordCliTest, LocksGrantTokensAndAHeldLockTimesOutWithLockHeld) {
  const std::string s1 = NewSession("mega-code-auditor");
  const std::string s2 = NewSession("ai-qa-team-lead");
  const CommandResult first = Run({"locks", "acquire", "repo/main", "--session", s1, "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const long long token1 = testing::Int(ParseOut(first), "token");
  EXPECT_GT(token1, 0) << first.out;

  const CommandResult blocked =
      Run({"locks", "acquire", "repo/main", "--session", s2, "--wait", "200ms"});
  EXPECT_EQ(blocked.exit_code, 1) << blocked.out;
  EXPECT_NE(blocked.err.find("lock_held"), std::string::npos) << blocked.err;

  const CommandResult shown = Run({"locks", "get", "repo/main"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find(s1), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("1 holder"), std::string::npos) << shown.out;

  EXPECT_EQ(Run({"locks", "release", "repo/main", "--session", s1}).exit_code, 0);
  const CommandResult second = Run({"locks", "acquire", "repo/main", "--session", s2, "--json"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_GT(testing::Int(ParseOut(second), "token"), token1) << second.out;

  const CommandResult set =
      Run({"locks", "acquire", "a", "b", "--session", s1, "--shared", "--json"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(ParseOut(set).at("tokens").as_object().size(), 2u) << set.out;
}

TEST_P(CoordCliTest, ElectionsCampaignGetResign) {
  const std::string s = NewSession("ai-system-architect");
  const CommandResult won =
      Run({"elections", "campaign", "planner", "--session", s, "--value", "10.0.0.7"});
  ASSERT_EQ(won.exit_code, 0) << won.err;
  EXPECT_TRUE(std::regex_search(won.out, std::regex("term +[0-9]+"))) << won.out;
  EXPECT_NE(won.out.find("ai-system-architect"), std::string::npos) << won.out;

  const CommandResult got = Run({"elections", "get", "planner", "--json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(Str(ParseOut(got).at("leader"), "value"), "10.0.0.7") << got.out;

  const std::string other = NewSession("ai-product-manager");
  const CommandResult lost =
      Run({"elections", "campaign", "planner", "--session", other, "--wait", "100ms"});
  EXPECT_EQ(lost.exit_code, 1);
  EXPECT_NE(lost.err.find("not_elected"), std::string::npos) << lost.err;

  EXPECT_EQ(Run({"elections", "resign", "planner", "--session", s}).exit_code, 0);
  const CommandResult none = Run({"elections", "get", "planner"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("unknown_election"), std::string::npos) << none.err;
}

TEST_P(CoordCliTest, ElectionsWatchPrintsEachLeaderChange) {
  const std::string s = NewSession("ai-scrum-master");
  std::atomic<bool> done = false;
  CommandResult watched;
  std::thread watcher([&] {
    watched = Run({"elections", "watch", "standup", "--count", "3"});
    done = true;
  });
  // Leader and no leader alternate until the watcher saw three states, whenever it
  // connected.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    testing::CallJson(node_.url(), "POST", "/v1/elections/standup/campaign",
                      json::object{{"session", s}});
    std::this_thread::sleep_for(100ms);
    testing::CallJson(node_.url(), "POST", "/v1/elections/standup/resign",
                      json::object{{"session", s}});
    std::this_thread::sleep_for(100ms);
  }
  watcher.join();
  ASSERT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  EXPECT_TRUE(
      std::regex_search(watched.out, std::regex("standup: leader ai-scrum-master term [0-9]+")))
      << watched.out;
  EXPECT_NE(watched.out.find("standup: no leader"), std::string::npos) << watched.out;

  const CommandResult bad = Run({"elections", "watch", "bad name", "--count", "1"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
}

TEST_P(CoordCliTest, BarriersShowMissingParticipantsUntilComplete) {
  ASSERT_EQ(Run({"barriers", "create", "deploy", "--participants", "a,b", "--ttl", "1m"}).exit_code,
            0);
  const CommandResult early =
      Run({"barriers", "arrive", "deploy", "--participant", "a", "--wait", "0s"});
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_NE(early.err.find("barrier_incomplete"), std::string::npos) << early.err;
  const CommandResult shown = Run({"barriers", "get", "deploy"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(std::regex_search(shown.out, std::regex("missing +b\n"))) << shown.out;

  const CommandResult last = Run({"barriers", "arrive", "deploy", "--participant", "b"});
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_TRUE(std::regex_search(last.out, std::regex("complete +yes"))) << last.out;
}

TEST_P(CoordCliTest, ProposalsCollectVotesWithTheVotersIdentity) {
  const CommandResult created =
      Run({"proposals", "create", "--kind", "critical", "--subject", "freeze deploys", "--payload",
           R"({"until":"friday"})", "--deadline", "10m", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string id = Str(ParseOut(created), "id");
  ASSERT_FALSE(id.empty()) << created.out;

  for (const char* voter : {"ai-agent-orchestrator", "ai-system-architect", "mega-code-auditor"}) {
    const CommandResult r = Run({"proposals", "vote", id, "--voter", voter, "--approve"});
    EXPECT_EQ(r.exit_code, 0) << voter << ": " << r.err;
  }
  const CommandResult twice =
      Run({"proposals", "vote", id, "--voter", "ai-agent-orchestrator", "--reject"});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_TRUE(std::regex_search(twice.err, std::regex("already_voted|proposal_closed")))
      << twice.err;

  const CommandResult got = Run({"proposals", "get", id});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_TRUE(std::regex_search(got.out, std::regex("outcome +approved"))) << got.out;
  EXPECT_NE(got.out.find("friday"), std::string::npos) << got.out;
}

TEST_P(CoordCliTest, CoordinatorsShowsTheGlobalHolder) {
  const std::string s = NewSession("ai-agent-orchestrator");
  ASSERT_EQ(Run({"elections", "campaign", "coordinator/global", "--session", s}).exit_code, 0);
  const CommandResult r = Run({"coordinators"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex("global +coordinator/global +ai-agent-orchestrator +[0-9]+")))
      << r.out;
  EXPECT_NE(r.out.find("coordinator/security"), std::string::npos) << r.out;
}

TEST_P(CoordCliTest, UsageErrorsExitTwoAndNothingChanges) {
  const std::vector<std::vector<std::string>> bad = {
      {"locks"},
      {"locks", "acquire", "x"},
      {"locks", "acquire", "x", "--session", "s", "--wait", "soon"},
      {"sessions", "create"},
      {"sessions", "get", "a", "b"},
      {"elections", "campaign", "x", "--session", "s", "--bogus"},
      {"barriers", "create", "x"},
      {"proposals", "vote", "p", "--voter", "v"},
      {"proposals", "create", "--kind", "critical", "--subject", "s", "--deadline", "10m",
       "--payload", "{not json"},
  };
  for (const auto& args : bad) {
    const CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << (args.size() > 1 ? args[1] : "") << ": " << r.out
                              << r.err;
    EXPECT_FALSE(r.err.empty());
  }
  const CommandResult locks = Run({"locks", "get", "x", "--json"});
  ASSERT_EQ(locks.exit_code, 0) << locks.err;
  EXPECT_TRUE(ParseOut(locks).at("holders").as_array().empty()) << locks.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, CoordCliTest, testing::BothBackends(),
                         testing::BackendParamName);

TEST(CoordCliUnreachableTest, ClosedNodeExitsOneWithTheAddress) {
  const std::string addr = "http://127.0.0.1:1";
  const CommandResult r = Agentmesh({"coordinators", "--node", addr, "--timeout", "3s"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(addr), std::string::npos) << r.err;
}

}  // namespace
}  // namespace agentmesh
