// Durability of the coordination state of the real binary: what was acknowledged before
// kill -9 (session, lock, leadership, barrier arrival, decided proposal) is there after
// a restart, sessions get a TTL of grace, and fencing tokens and terms after the restart
// exceed every one before it, also under concurrent traffic. Embedded: the node is
// killed and restarted on the same data dir. Etcd: either the node is killed and
// restarted against the same etcd, or etcd is killed and restarted under a running node.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
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
using testing::CoordBackend;
using testing::CoordClient;
using testing::ErrorCodeOf;
using testing::JsonReply;
using testing::Str;
using testing::Strings;
using testing::Uint;
namespace json = boost::json;

// What a test crashes with SIGKILL and restarts.
enum class Crash { kNode, kEtcd };

struct RestartCase {
  CoordBackend backend;
  Crash crash;
};

std::string RestartCaseName(const ::testing::TestParamInfo<RestartCase>& info) {
  return testing::BackendName(info.param.backend) +
         (info.param.crash == Crash::kEtcd ? "_KillEtcd" : "_KillNode");
}

void PrintTo(const RestartCase& c, std::ostream* os) {
  *os << testing::BackendName(c.backend)
      << (c.crash == Crash::kEtcd ? ", kill etcd" : ", kill node");
}

class CoordRestartTest : public ::testing::TestWithParam<RestartCase> {
 protected:
  void Start() {
    ASSERT_EQ(node_.Start(testing::kCoordPolicy, /*with_fleet=*/true), "");
    api_ = CoordClient(node_.url());
  }

  // Sends SIGKILL to what the case crashes.
  void Kill9() {
    if (GetParam().crash == Crash::kEtcd) {
      node_.Kill9Etcd();
    } else {
      node_.Kill9Node();
    }
  }

  // Starts it again: the node on its data dir and etcd, or etcd on its data dir under
  // the running node, which then answers from etcd again.
  void Recover() {
    if (GetParam().crash == Crash::kEtcd) {
      ASSERT_EQ(node_.RestartEtcd(), "");
      ASSERT_TRUE(testing::WaitFor([&] { return api_.GetLock("probe").status == 200; }, 10s))
          << "the node does not answer from the restarted etcd";
    } else {
      ASSERT_EQ(node_.StartAgain(), "");
      api_ = CoordClient(node_.url());
    }
  }

  void Restart() {
    Kill9();
    Recover();
  }

  testing::CoordNode node_{GetParam().backend};
  CoordClient api_{""};
};

TEST_P(CoordRestartTest, AcknowledgedStateSurvivesKill9) {
  Start();
  const std::string s = api_.Session("ai-system-architect", "5s");
  ASSERT_FALSE(s.empty());
  const JsonReply lock = api_.Acquire("res", s);
  ASSERT_EQ(lock.status, 200) << lock.raw;
  const JsonReply shared = api_.Acquire("catalog", s, 0, "shared");
  ASSERT_EQ(shared.status, 200) << shared.raw;
  const JsonReply led = api_.Campaign("coordinator/architecture", s, 0, "http://architect");
  ASSERT_EQ(led.status, 200) << led.raw;
  ASSERT_EQ(api_.Post("/v1/barriers/rollout", {{"participants", json::array{"p1", "p2"}}}).status,
            201);
  ASSERT_EQ(ErrorCodeOf(api_.Arrive("rollout", "p1", 0)), "barrier_incomplete");
  const JsonReply proposal = api_.Post(
      "/v1/proposals", {{"kind", "critical"}, {"subject", "restart"}, {"deadline", "10m"}});
  ASSERT_EQ(proposal.status, 201) << proposal.raw;
  const std::string id = Str(proposal.body, "id");
  for (const char* voter : {"ai-agent-orchestrator", "ai-system-architect", "mega-code-auditor"}) {
    ASSERT_EQ(api_.Vote(id, voter, true, voter).status, 200) << voter;
  }
  const unsigned long long before =
      std::max({Uint(lock.body, "token"), Uint(shared.body, "token"), Uint(led.body, "term")});

  ASSERT_NO_FATAL_FAILURE(Restart());
  const JsonReply session = api_.GetSession(s);
  ASSERT_EQ(session.status, 200) << "the session lost its grace: " << session.raw;
  EXPECT_EQ(Str(session.body, "agent"), "ai-system-architect");
  // On etcd a restarted node does not touch the lease, which keeps counting down (in
  // whole seconds) from its creation; a restarted etcd gives every lease a full TTL.
  const bool lease_ran_on = node_.on_etcd() && GetParam().crash == Crash::kNode;
  EXPECT_GT(testing::Int(session.body, "expires_in_ms"), lease_ran_on ? 1000 : 3000);

  const auto holders = api_.Holders("res");
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(Str(holders[0], "session"), s);
  EXPECT_EQ(Str(holders[0], "mode"), "exclusive");
  EXPECT_EQ(Uint(holders[0], "token"), Uint(lock.body, "token"));
  const auto readers = api_.Holders("catalog");
  ASSERT_EQ(readers.size(), 1u);
  EXPECT_EQ(Str(readers[0], "mode"), "shared");

  const JsonReply election = api_.GetElection("coordinator/architecture");
  ASSERT_EQ(election.status, 200) << election.raw;
  EXPECT_EQ(Str(election.body.at("leader"), "session"), s);
  EXPECT_EQ(Str(election.body.at("leader"), "value"), "http://architect");
  EXPECT_EQ(Uint(election.body, "term"), Uint(led.body, "term"));

  const JsonReply barrier = api_.GetBarrier("rollout");
  ASSERT_EQ(barrier.status, 200) << barrier.raw;
  EXPECT_EQ(Strings(barrier.body, "arrived"), std::vector<std::string>{"p1"});
  EXPECT_EQ(Strings(barrier.body, "missing"), std::vector<std::string>{"p2"});
  const JsonReply decided = api_.Get("/v1/proposals/" + id);
  ASSERT_EQ(decided.status, 200) << decided.raw;
  EXPECT_EQ(Str(decided.body, "outcome"), "approved");
  EXPECT_EQ(Strings(decided.body, "approvals").size(), 3u);

  // The old session still acts; new grants outnumber every one before the crash.
  const std::string fresh = api_.Session("mega-code-auditor");
  EXPECT_EQ(ErrorCodeOf(api_.Acquire("res", fresh, 0)), "lock_held");
  const JsonReply other = api_.Acquire("other", fresh);
  ASSERT_EQ(other.status, 200) << other.raw;
  EXPECT_GT(Uint(other.body, "token"), before);
  const JsonReply quality = api_.Campaign("coordinator/quality", fresh);
  ASSERT_EQ(quality.status, 200) << quality.raw;
  EXPECT_GT(Uint(quality.body, "term"), before);
  EXPECT_EQ(api_.Release("res", s).status, 200);
  const JsonReply regained = api_.Acquire("res", fresh);
  ASSERT_EQ(regained.status, 200) << regained.raw;
  EXPECT_GT(Uint(regained.body, "token"), Uint(other.body, "token"));
  const JsonReply complete = api_.Arrive("rollout", "p2", 0);
  ASSERT_EQ(complete.status, 200) << complete.raw;
  EXPECT_TRUE(complete.body.at("complete").as_bool());
}

TEST_P(CoordRestartTest, SessionWithoutRenewalsExpiresOneTtlAfterRestart) {
  Start();
  const std::string s = api_.Session("alpha", "2s");
  ASSERT_EQ(api_.Acquire("res", s).status, 200);
  ASSERT_NO_FATAL_FAILURE(Restart());
  ASSERT_EQ(api_.GetSession(s).status, 200);
  EXPECT_TRUE(testing::WaitFor([&] { return api_.GetSession(s).status == 404; }, 6s));
  EXPECT_TRUE(testing::WaitFor([&] { return api_.Holders("res").empty(); }, 2s));
}

// One client's view of its grants: acknowledged and not released, or in doubt.
struct ClientLedger {
  std::string session;
  std::map<std::string, unsigned long long> held;  // name -> token, acknowledged
  std::set<std::string> in_doubt;                  // a request whose answer never came
  unsigned long long max_token = 0;
  int grants = 0;
};

TEST_P(CoordRestartTest, AcknowledgedGrantsSurviveKill9DuringConcurrentTraffic) {
  Start();
  constexpr int kClients = 8;
  std::vector<std::string> names;
  for (int i = 0; i < 24; ++i) {
    names.push_back("pool-" + std::to_string(i));
  }
  std::vector<ClientLedger> ledgers(kClients);
  for (int i = 0; i < kClients; ++i) {
    ledgers[i].session = api_.Session("client-" + std::to_string(i), "60s");
    ASSERT_FALSE(ledgers[i].session.empty());
  }
  std::atomic<int> total{0};
  std::atomic<bool> crashed{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      ClientLedger& me = ledgers[i];
      const CoordClient api(api_.base());
      std::mt19937 random(static_cast<unsigned>(i) * 7919u + 1u);
      while (!crashed) {
        const std::string& name = names[random() % names.size()];
        const bool release = me.held.contains(name);
        const JsonReply r =
            release ? api.Release(name, me.session) : api.Acquire(name, me.session, 20);
        if (r.status == 0 || r.status >= 500) {
          me.in_doubt.insert(name);  // the node or etcd died with this request in flight
          return;
        }
        if (release && r.status == 200) {
          me.held.erase(name);
        } else if (!release && r.status == 200) {
          me.held[name] = Uint(r.body, "token");
          me.max_token = std::max(me.max_token, me.held[name]);
          ++me.grants;
        } else if (!(r.status == 409 && ErrorCodeOf(r) == "lock_held")) {
          ADD_FAILURE() << "client " << i << ": " << r.status << " " << r.raw;
          return;
        }
        ++total;
      }
    });
  }
  const bool busy = testing::WaitFor([&] { return total.load() >= 300; }, 10s, 5ms);
  Kill9();
  crashed = true;
  for (auto& t : clients) {
    t.join();
  }
  ASSERT_TRUE(busy) << "only " << total.load() << " answers before the crash";

  ASSERT_NO_FATAL_FAILURE(Recover());
  unsigned long long before = 0;
  int checked = 0;
  for (const ClientLedger& me : ledgers) {
    before = std::max(before, me.max_token);
    ASSERT_EQ(api_.GetSession(me.session).status, 200) << me.session;
    for (const auto& [name, token] : me.held) {
      if (me.in_doubt.contains(name)) {
        continue;  // released, maybe: the answer never came
      }
      const auto holders = api_.Holders(name);
      ASSERT_EQ(holders.size(), 1u) << name << " lost its exclusive holder " << me.session;
      EXPECT_EQ(Str(holders[0], "session"), me.session) << name;
      EXPECT_EQ(Uint(holders[0], "token"), token) << name;
      ++checked;
    }
  }
  int grants = 0;
  for (const ClientLedger& me : ledgers) {
    grants += me.grants;
  }
  RecordProperty("answers", total.load());
  RecordProperty("grants", grants);
  RecordProperty("held_after_restart", checked);
  for (const std::string& name : names) {
    EXPECT_LE(api_.Holders(name).size(), 1u) << name << " has two exclusive holders";
  }
  const std::string fresh = api_.Session("after-restart");
  const JsonReply granted = api_.Acquire("fresh-lock", fresh);
  ASSERT_EQ(granted.status, 200) << granted.raw;
  EXPECT_GT(Uint(granted.body, "token"), before);
}

INSTANTIATE_TEST_SUITE_P(Backends, CoordRestartTest,
                         ::testing::Values(RestartCase{CoordBackend::kEmbedded, Crash::kNode},
                                           RestartCase{CoordBackend::kEtcd, Crash::kNode},
                                           RestartCase{CoordBackend::kEtcd, Crash::kEtcd}),
                         RestartCaseName);

}  // namespace
}  // namespace agentmesh
