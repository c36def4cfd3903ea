// The coordination SDK against the real node on both coordination backends: RAII locks,
// renewing sessions, election callbacks and failover, barriers and votes.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <boost/json/object.hpp>
#include <gtest/gtest.h>

#include "agentmesh/client/coord_client.h"

#include "integration/coord_api.h"
#include "integration/node_api.h"

namespace agentmesh::client {
namespace {

using namespace std::chrono_literals;
using testing::CallJson;
using testing::Int;
using testing::Str;
using testing::WaitFor;

class CoordSdkTest : public ::testing::TestWithParam<testing::CoordBackend> {
 protected:
  void SetUp() override { ASSERT_EQ(node_.Start("", /*with_fleet=*/true), ""); }

  CoordClientOptions As(std::string agent) const {
    return {.node_url = node_.url(), .request_timeout = 5s, .agent = std::move(agent)};
  }

  std::size_t Holders(const std::string& lock) {
    auto r = CallJson(node_.url(), "GET", "/v1/locks/" + lock);
    const auto* holders = r.body.is_object() ? r.body.as_object().if_contains("holders") : nullptr;
    return holders != nullptr && holders->is_array() ? holders->as_array().size() : 0;
  }

  long long Candidates(const std::string& election) {
    return Int(CallJson(node_.url(), "GET", "/v1/elections/" + election).body, "candidates");
  }

  testing::CoordNode node_{GetParam()};
};

TEST_P(CoordSdkTest, LockGuardHoldsAFencingTokenAndReleasesOnScopeExit) {
  CoordClient client(As("coder"));
  auto session = client.CreateSession();
  ASSERT_TRUE(session) << session.error().ToString();
  auto other = client.CreateSession();
  ASSERT_TRUE(other);
  std::uint64_t first_token = 0;
  {
    auto lock = LockGuard::Acquire(*session, "db/orders");
    ASSERT_TRUE(lock) << lock.error().ToString();
    first_token = lock->token();
    EXPECT_GT(first_token, 0u);
    EXPECT_EQ(Holders("db%2Forders"), 1u);
    auto busy = LockGuard::Acquire(*other, "db/orders", LockMode::kExclusive, 100ms);
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().reason(), "lock_held");
  }
  EXPECT_EQ(Holders("db%2Forders"), 0u);
  auto again = LockGuard::Acquire(*other, "db/orders");
  ASSERT_TRUE(again);
  EXPECT_GT(again->token(), first_token);
}

TEST_P(CoordSdkTest, LockSetTakesAllOrNothingAndReleasesEveryLock) {
  CoordClient client(As("coder"));
  auto session = client.CreateSession();
  auto other = client.CreateSession();
  ASSERT_TRUE(session && other);
  auto held = LockGuard::Acquire(*other, "res-b");
  ASSERT_TRUE(held);
  auto blocked = LockSet::Acquire(*session, {"res-a", "res-b"}, LockMode::kExclusive, 100ms);
  ASSERT_FALSE(blocked);
  EXPECT_EQ(Holders("res-a"), 0u);  // nothing taken
  ASSERT_TRUE(held->Release().ok());
  {
    auto set = LockSet::Acquire(*session, {"res-b", "res-a"});
    ASSERT_TRUE(set) << set.error().ToString();
    EXPECT_EQ(set->tokens().size(), 2u);
    EXPECT_EQ(Holders("res-a"), 1u);
    EXPECT_EQ(Holders("res-b"), 1u);
  }
  EXPECT_EQ(Holders("res-a"), 0u);
  EXPECT_EQ(Holders("res-b"), 0u);
}

TEST_P(CoordSdkTest, SessionRenewsPastItsTtlAndIsDestroyedOnScopeExit) {
  CoordClient client(As("coder"));
  std::string id;
  {
    auto session = client.CreateSession({.ttl = 1s, .renew_interval = 200ms});
    ASSERT_TRUE(session) << session.error().ToString();
    id = session->id();
    // Three TTLs: without renewals the node would have expired it twice over.
    ASSERT_TRUE(WaitFor([&] { return session->renewals() >= 15; }, 10s));
    EXPECT_EQ(CallJson(node_.url(), "GET", "/v1/sessions/" + id).status, 200);
    EXPECT_FALSE(session->lost());
  }
  EXPECT_EQ(CallJson(node_.url(), "GET", "/v1/sessions/" + id).status, 404);
}

TEST_P(CoordSdkTest, SessionDestroyedOnTheNodeIsReportedLost) {
  CoordClient client(As("coder"));
  std::atomic<bool> lost{false};
  auto session =
      client.CreateSession({.ttl = 2s, .renew_interval = 100ms, .on_lost = [&] { lost = true; }});
  ASSERT_TRUE(session);
  ASSERT_EQ(CallJson(node_.url(), "DELETE", "/v1/sessions/" + session->id()).status, 200);
  ASSERT_TRUE(WaitFor([&] { return lost.load(); }, 5s));
  EXPECT_TRUE(session->lost());
}

struct Observed {
  std::atomic<std::uint64_t> elected_term{0};
  std::atomic<int> lost{0};
  ElectionCallbacks Callbacks() {
    return {.on_elected = [this](std::uint64_t t) { elected_term = t; },
            .on_lost = [this] { ++lost; }};
  }
};

TEST_P(CoordSdkTest, ElectionCallsBackOnElectedAndOnLostWhenTheLeadersSessionEnds) {
  CoordClient a(As("agent-a"));
  CoordClient b(As("agent-b"));
  auto session_a = a.CreateSession();
  auto session_b = b.CreateSession();
  ASSERT_TRUE(session_a && session_b);
  Observed seen_a;
  Observed seen_b;
  const ElectionOptions fast{.check_interval = 100ms};
  auto leader = Election::Campaign(*session_a, "jobs/scheduler", "a", seen_a.Callbacks(), fast);
  ASSERT_TRUE(leader);
  ASSERT_TRUE(WaitFor([&] { return seen_a.elected_term.load() > 0; }, 10s));
  auto follower = Election::Campaign(*session_b, "jobs/scheduler", "b", seen_b.Callbacks(), fast);
  ASSERT_TRUE(follower);
  ASSERT_TRUE(WaitFor([&] { return Candidates("jobs%2Fscheduler") == 1; }, 10s));
  EXPECT_EQ(seen_b.elected_term.load(), 0u);
  auto view = b.Leader("jobs/scheduler");
  ASSERT_TRUE(view);
  EXPECT_EQ(view->agent, "agent-a");

  ASSERT_EQ(CallJson(a.options().node_url, "DELETE", "/v1/sessions/" + session_a->id()).status,
            200);
  ASSERT_TRUE(WaitFor([&] { return seen_b.elected_term.load() > 0; }, 10s));
  EXPECT_GT(seen_b.elected_term.load(), seen_a.elected_term.load());
  ASSERT_TRUE(WaitFor([&] { return seen_a.lost.load() == 1; }, 10s));
  EXPECT_FALSE(leader->leading());
  EXPECT_TRUE(follower->leading());
  // Leadership may be seen lost first through the election (another leader); the dead
  // session shows in the loop's status once it next talks to the node.
  EXPECT_TRUE(WaitFor([&] { return leader->status().reason() == "unknown_session"; }, 10s))
      << leader->status().ToString();
}

TEST_P(CoordSdkTest, FollowerIsElectedWithinTtlPlusFirstBackoffWhenTheLeaderStopsRenewing) {
  // The leader is a raw session that is never renewed: a crashed leader process.
  const std::string url = node_.url();
  const auto created_at = std::chrono::steady_clock::now();
  auto raw = CallJson(url, "POST", "/v1/sessions",
                      boost::json::object{{"agent", "crashed"}, {"ttl", "2s"}});
  ASSERT_EQ(raw.status, 201) << raw.raw;
  ASSERT_EQ(CallJson(url, "POST", "/v1/elections/jobs%2Fleader/campaign",
                     boost::json::object{{"session", Str(raw.body, "id")}})
                .status,
            200);
  CoordClient client(As("survivor"));
  auto session = client.CreateSession();
  ASSERT_TRUE(session);
  Observed seen;
  auto follower = Election::Campaign(*session, "jobs/leader", "", seen.Callbacks());
  ASSERT_TRUE(follower);
  ASSERT_TRUE(WaitFor([&] { return seen.elected_term.load() > 0; }, 15s));
  const auto took = std::chrono::steady_clock::now() - created_at;
  const ElectionBackoff backoff;
  // TTL + first backoff step with its jitter, plus the node's 1 s expiry tick.
  EXPECT_LE(took, 2s + backoff.Step(1) * 1.1 + 1s)
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

TEST_P(CoordSdkTest, ResignHandsLeadershipToTheNamedSuccessor) {
  CoordClient a(As("agent-a"));
  CoordClient b(As("agent-b"));
  CoordClient c(As("agent-c"));
  auto sa = a.CreateSession();
  auto sb = b.CreateSession();
  auto sc = c.CreateSession();
  ASSERT_TRUE(sa && sb && sc);
  Observed seen_a;
  Observed seen_b;
  Observed seen_c;
  auto ea = Election::Campaign(*sa, "deploys", "a", seen_a.Callbacks());
  ASSERT_TRUE(WaitFor([&] { return seen_a.elected_term.load() > 0; }, 10s));
  auto eb = Election::Campaign(*sb, "deploys", "b", seen_b.Callbacks());
  auto ec = Election::Campaign(*sc, "deploys", "c", seen_c.Callbacks());
  ASSERT_TRUE(eb && ec);
  ASSERT_TRUE(WaitFor([&] { return Candidates("deploys") == 2; }, 10s));
  ASSERT_TRUE(ea->Resign("agent-c").ok());
  ASSERT_TRUE(WaitFor([&] { return seen_c.elected_term.load() > 0; }, 5s));
  EXPECT_EQ(seen_b.elected_term.load(), 0u);
  EXPECT_FALSE(ea->leading());
  EXPECT_TRUE(WaitFor([&] { return seen_a.lost.load() == 1; }, 5s));
  EXPECT_EQ(a.Leader("deploys")->agent, "agent-c");
}

TEST_P(CoordSdkTest, BarrierCompletesWhenEveryParticipantArrived) {
  CoordClient client(As("coder"));
  auto created = client.CreateBarrier("release/gate", {"p1", "p2"});
  ASSERT_TRUE(created) << created.error().ToString();
  EXPECT_EQ(created->missing.size(), 2u);
  core::Result<BarrierView> first;
  std::thread waiter([&] { first = client.ArriveAndWait("release/gate", "p1", 10s); });
  ASSERT_TRUE(WaitFor([&] { return client.GetBarrier("release/gate")->arrived.size() == 1; }, 5s));
  auto second = client.ArriveAndWait("release/gate", "p2", 10s);
  waiter.join();
  ASSERT_TRUE(second && first);
  EXPECT_TRUE(second->complete);
  EXPECT_TRUE(first->complete);
  EXPECT_TRUE(first->missing.empty());
}

TEST_P(CoordSdkTest, VotesCarryTheVotersIdentityAndDecideAProposal) {
  CoordClient proposer(As("ai-agent-orchestrator"));
  auto id = proposer.Propose(
      {.kind = "critical", .subject = "freeze deploys", .payload_json = R"({"why":"incident"})"});
  ASSERT_TRUE(id) << id.error().ToString();
  for (const char* voter : {"ai-agent-orchestrator", "ai-system-architect"}) {
    CoordClient agent(As(voter));
    auto after = agent.Vote(*id, true);
    ASSERT_TRUE(after) << voter << ": " << after.error().ToString();
  }
  EXPECT_EQ(proposer.GetProposal(*id)->outcome, "pending");
  EXPECT_EQ(proposer.Vote(*id, true).error().reason(), "already_voted");
  CoordClient third(As("deployment-automation-master"));
  ASSERT_TRUE(third.Vote(*id, true));
  auto decided = proposer.GetProposal(*id);
  ASSERT_TRUE(decided);
  EXPECT_EQ(decided->outcome, "approved");
  EXPECT_EQ(decided->approvals.size(), 3u);
  EXPECT_EQ(decided->required_approvals, 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, CoordSdkTest, testing::BothBackends(),
                         testing::BackendParamName);

}  // namespace
}  // namespace agentmesh::client
