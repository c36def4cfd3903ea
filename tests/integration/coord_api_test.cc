// The coordination API of the real binary: sessions (life cycle, bad input that changes
// nothing, expiry that hands locks and leadership to waiters, renewal) and barriers.
#include "integration/coord_api.h"

#include <chrono>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "integration/node_api.h"

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using testing::Async;
using testing::CoordFixture;
using testing::ErrorCodeOf;
using testing::Int;
using testing::JsonReply;
using testing::Str;
using testing::Strings;
using testing::Uint;
namespace json = boost::json;

class CoordSessionsTest : public CoordFixture {};
class CoordBarriersTest : public CoordFixture {};

TEST_P(CoordSessionsTest, CreateGetRenewDestroyRoundTrip) {
  Start();
  const JsonReply created = api_.CreateSession("alpha", "5s");
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string id = Str(created.body, "id");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Str(created.body, "agent"), "alpha");
  EXPECT_EQ(Str(created.body, "ttl"), "5s");

  const JsonReply got = api_.GetSession(id);
  ASSERT_EQ(got.status, 200) << got.raw;
  EXPECT_EQ(Str(got.body, "agent"), "alpha");
  EXPECT_GT(Int(got.body, "expires_in_ms"), 0);
  EXPECT_LE(Int(got.body, "expires_in_ms"), 5000);

  const JsonReply renewed = api_.RenewSession(id);
  ASSERT_EQ(renewed.status, 200) << renewed.raw;
  EXPECT_EQ(Str(renewed.body, "ttl"), "5s");
  EXPECT_GT(Int(renewed.body, "expires_in_ms"), 4000);

  const JsonReply destroyed = api_.Send("DELETE", "/v1/sessions/" + id, "");
  ASSERT_EQ(destroyed.status, 200) << destroyed.raw;
  EXPECT_TRUE(destroyed.body.at("destroyed").as_bool());
  EXPECT_TRUE(api_.HasEvent("session.created", "session", id));
  EXPECT_TRUE(api_.HasEvent("session.destroyed", "session", id));

  for (const JsonReply& gone : {api_.GetSession(id), api_.RenewSession(id),
                                api_.Send("DELETE", "/v1/sessions/" + id, "")}) {
    EXPECT_EQ(gone.status, 404) << gone.raw;
    EXPECT_EQ(ErrorCodeOf(gone), "unknown_session") << gone.raw;
  }
}

TEST_P(CoordSessionsTest, DefaultTtlIsThirtySeconds) {
  Start();
  const JsonReply created = api_.CreateSession("alpha");
  ASSERT_EQ(created.status, 201) << created.raw;
  EXPECT_EQ(Str(created.body, "ttl"), "30s");
}

TEST_P(CoordSessionsTest, BadSessionRequestsAre4xxAndCreateNothing) {
  Start();
  struct Case {
    std::string body;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {R"({"agent":"alpha","ttl":"500ms"})", 400, "invalid_ttl"},
      {R"({"agent":"alpha","ttl":"25h"})", 400, "invalid_ttl"},
      {R"({"agent":"alpha","ttl":"0s"})", 400, "invalid_duration"},
      {R"({"agent":"alpha","ttl":"soon"})", 400, "invalid_duration"},
      {R"({"agent":"alpha","ttl":30})", 400, "invalid_field"},
      {R"({"agent":5})", 400, "invalid_field"},
      {R"({"agent":"no spaces allowed"})", 400, "invalid_agent"},
      {R"({"ttl":"30s"})", 400, "missing_field"},
      {R"({"agent":"alpha","colour":"red"})", 400, "unknown_field"},
      {R"({"agent":"alpha")", 400, "malformed_json"},
      {R"(["alpha"])", 400, "malformed_json"},
      {"", 400, "missing_body"},
  };
  for (const Case& c : cases) {
    const JsonReply r = api_.Send("POST", "/v1/sessions", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.raw;
    EXPECT_EQ(ErrorCodeOf(r), c.code) << c.body << " -> " << r.raw;
  }
  EXPECT_TRUE(api_.Events("session.created").empty());
  for (const char* unknown : {"no-such-session", "0123456789abcdef"}) {
    EXPECT_EQ(ErrorCodeOf(api_.GetSession(unknown)), "unknown_session");
    EXPECT_EQ(ErrorCodeOf(api_.RenewSession(unknown)), "unknown_session");
  }
}

TEST_P(CoordSessionsTest, BadCallsWithASessionAre4xxAndChangeNothing) {
  Start();
  const std::string s = api_.Session("alpha");
  ASSERT_FALSE(s.empty());
  struct Case {
    std::string target;
    std::string body;
    int status;
    std::string code;
  };
  const std::string acquire = "/v1/locks/res/acquire";
  const std::string campaign = "/v1/elections/el/campaign";
  const std::vector<Case> cases = {
      {acquire, R"({"session":")" + s + R"(","mode":"sideways"})", 400, "invalid_field"},
      {acquire, R"({"session":")" + s + R"(","wait_ms":-1})", 400, "invalid_field"},
      {acquire, R"({"session":")" + s + R"(","wait_ms":"100"})", 400, "invalid_field"},
      {acquire, R"({"session":")" + s + R"(","wait_ms":600000})", 400, "invalid_field"},
      {acquire, R"({"session":")" + s + R"(","ttl":"5s"})", 400, "unknown_field"},
      {acquire, R"({"session":7})", 400, "invalid_field"},
      {acquire, R"({"mode":"shared"})", 400, "missing_field"},
      {acquire, R"({"session":"no-such-session"})", 404, "unknown_session"},
      {acquire, "{", 400, "malformed_json"},
      {"/v1/locks/a%2F%2Fb/acquire", R"({"session":")" + s + R"("})", 400, "invalid_name"},
      {"/v1/lock-sets/acquire", R"({"session":")" + s + R"(","names":[]})", 400, "invalid_field"},
      {"/v1/lock-sets/acquire", R"({"session":")" + s + R"(","names":"res"})", 400,
       "invalid_field"},
      {campaign, R"({"session":")" + s + R"(","value":1})", 400, "invalid_field"},
      {campaign, R"({"session":")" + s + R"(","priority":1})", 400, "unknown_field"},
      {campaign, R"({"session":"no-such-session"})", 404, "unknown_session"},
      {"/v1/locks/res/release", R"({"session":")" + s + R"("})", 409, "not_holder"},
      {"/v1/elections/el/resign", R"({"session":")" + s + R"("})", 404, "unknown_election"},
  };
  for (const Case& c : cases) {
    const JsonReply r = api_.Send("POST", c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.target << " " << c.body << " -> " << r.raw;
    EXPECT_EQ(ErrorCodeOf(r), c.code) << c.target << " " << c.body << " -> " << r.raw;
  }
  EXPECT_TRUE(api_.Holders("res").empty());
  EXPECT_EQ(api_.GetElection("el").status, 404);
  EXPECT_TRUE(api_.Events("lock.acquired").empty());
  EXPECT_TRUE(api_.Events("election.elected").empty());
  const JsonReply session = api_.GetSession(s);
  EXPECT_EQ(session.status, 200) << session.raw;
}

TEST_P(CoordSessionsTest, ExpiryHandsLockAndLeadershipToWaiters) {
  Start();
  const std::string doomed = api_.Session("doomed", "1s");
  const std::string heir = api_.Session("heir", "30s");
  ASSERT_FALSE(doomed.empty());
  ASSERT_FALSE(heir.empty());
  const JsonReply lock = api_.Acquire("res", doomed);
  ASSERT_EQ(lock.status, 200) << lock.raw;
  const JsonReply led = api_.Campaign("el", doomed);
  ASSERT_EQ(led.status, 200) << led.raw;

  const auto started = std::chrono::steady_clock::now();
  auto lock_waiter = Async([&] { return api_.Acquire("res", heir, 8000); });
  auto campaign_waiter = Async([&] { return api_.Campaign("el", heir, 8000); });
  const testing::TimedReply got_lock = lock_waiter.get();
  const testing::TimedReply got_lead = campaign_waiter.get();

  ASSERT_EQ(got_lock.reply.status, 200) << got_lock.reply.raw;
  EXPECT_EQ(Str(got_lock.reply.body, "session"), heir);
  EXPECT_GT(Uint(got_lock.reply.body, "token"), Uint(lock.body, "token"));
  ASSERT_EQ(got_lead.reply.status, 200) << got_lead.reply.raw;
  EXPECT_EQ(Str(got_lead.reply.body.at("leader"), "session"), heir);
  EXPECT_GT(Uint(got_lead.reply.body, "term"), Uint(led.body, "term"));
  // The session lived about its TTL, not much less and not much more.
  EXPECT_GE(testing::MillisBetween(started, got_lock.at), 500);
  EXPECT_LE(testing::MillisBetween(started, got_lock.at), 5000);

  EXPECT_EQ(ErrorCodeOf(api_.GetSession(doomed)), "unknown_session");
  EXPECT_TRUE(api_.WaitForEvent("session.expired", "session", doomed));
  bool released = false;
  for (const json::object& e : api_.Events("lock.released")) {
    const json::value& data = e.at("data");
    released |= Str(data, "session") == doomed && Str(data, "name") == "res" &&
                Str(data, "reason") == "session_ended";
  }
  EXPECT_TRUE(released);
  bool lost = false;
  for (const json::object& e : api_.Events("election.lost")) {
    // The embedded backend names the lost leader in data.leader, etcd in data.session.
    const json::value& data = e.at("data");
    const json::value* leader = data.as_object().if_contains("leader");
    lost |= Str(leader != nullptr ? *leader : data, "session") == doomed;
  }
  EXPECT_TRUE(lost);
}

TEST_P(CoordSessionsTest, RenewingKeepsASessionAlivePastItsTtl) {
  Start();
  const std::string s = api_.Session("alpha", "1s");
  ASSERT_FALSE(s.empty());
  ASSERT_EQ(api_.Acquire("res", s).status, 200);
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  while (std::chrono::steady_clock::now() < until) {
    const JsonReply r = api_.RenewSession(s);
    ASSERT_EQ(r.status, 200) << r.raw;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_EQ(api_.GetSession(s).status, 200);
  const auto holders = api_.Holders("res");
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(Str(holders[0], "session"), s);
  EXPECT_FALSE(api_.HasEvent("session.expired", "session", s));

  // Once renewals stop, it expires within about one TTL.
  EXPECT_TRUE(testing::WaitFor([&] { return api_.GetSession(s).status == 404; }, 5s));
  EXPECT_TRUE(testing::WaitFor([&] { return api_.Holders("res").empty(); }, 2s));
}

TEST_P(CoordBarriersTest, LastArrivalCompletesEveryWaiter) {
  Start();
  const JsonReply created = api_.Post(
      "/v1/barriers/deploy-1", {{"participants", json::array{"a", "b", "c"}}, {"ttl", "30s"}});
  ASSERT_EQ(created.status, 201) << created.raw;
  EXPECT_EQ(Strings(created.body, "missing"), (std::vector<std::string>{"a", "b", "c"}));

  auto a = Async([&] { return api_.Arrive("deploy-1", "a", 8000); });
  auto b = Async([&] { return api_.Arrive("deploy-1", "b", 8000); });
  ASSERT_TRUE(testing::WaitFor(
      [&] { return Strings(api_.GetBarrier("deploy-1").body, "arrived").size() == 2; }, 5s));
  const JsonReply view = api_.GetBarrier("deploy-1");
  EXPECT_EQ(Strings(view.body, "missing"), std::vector<std::string>{"c"});
  EXPECT_FALSE(view.body.at("complete").as_bool());
  EXPECT_EQ(a.wait_for(0ms), std::future_status::timeout) << "a returned before c arrived";

  const JsonReply c = api_.Arrive("deploy-1", "c", 0);
  ASSERT_EQ(c.status, 200) << c.raw;
  EXPECT_TRUE(c.body.at("complete").as_bool());
  for (auto* waiter : {&a, &b}) {
    ASSERT_EQ(waiter->wait_for(5s), std::future_status::ready);
    const JsonReply r = waiter->get().reply;
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_TRUE(r.body.at("complete").as_bool());
    EXPECT_TRUE(Strings(r.body, "missing").empty());
  }
  EXPECT_TRUE(api_.WaitForEvent("barrier.completed", "name", "deploy-1"));
}

TEST_P(CoordBarriersTest, MisuseIs409AndWaitingIsBounded) {
  Start();
  const json::object spec{{"participants", json::array{"a", "b", "c"}}};
  ASSERT_EQ(api_.Post("/v1/barriers/sync", spec).status, 201);
  const JsonReply again = api_.Post("/v1/barriers/sync", spec);
  EXPECT_EQ(again.status, 409) << again.raw;
  EXPECT_EQ(ErrorCodeOf(again), "barrier_exists");

  const JsonReply stranger = api_.Arrive("sync", "mallory", 0);
  EXPECT_EQ(stranger.status, 409) << stranger.raw;
  EXPECT_EQ(ErrorCodeOf(stranger), "not_participant");

  const auto before = std::chrono::steady_clock::now();
  const JsonReply alone = api_.Arrive("sync", "a", 200);
  const long long waited = testing::MillisBetween(before, std::chrono::steady_clock::now());
  EXPECT_EQ(alone.status, 409) << alone.raw;
  EXPECT_EQ(ErrorCodeOf(alone), "barrier_incomplete");
  EXPECT_GE(waited, 190);
  EXPECT_LT(waited, 3000);

  const JsonReply view = api_.GetBarrier("sync");
  ASSERT_EQ(view.status, 200) << view.raw;
  EXPECT_EQ(Strings(view.body, "arrived"), std::vector<std::string>{"a"});
  EXPECT_EQ(Strings(view.body, "missing"), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(Str(view.body, "ttl"), "5m");

  EXPECT_EQ(ErrorCodeOf(api_.GetBarrier("nowhere")), "unknown_barrier");
  EXPECT_EQ(ErrorCodeOf(api_.Arrive("nowhere", "a", 0)), "unknown_barrier");
  EXPECT_EQ(ErrorCodeOf(api_.Post("/v1/barriers/dup", {{"participants", json::array{"a", "a"}}})),
            "invalid_argument");
  EXPECT_EQ(ErrorCodeOf(api_.GetBarrier("dup")), "unknown_barrier");
}

INSTANTIATE_TEST_SUITE_P(Backends, CoordSessionsTest, testing::BothBackends(),
                         testing::BackendParamName);
INSTANTIATE_TEST_SUITE_P(Backends, CoordBarriersTest, testing::BothBackends(),
                         testing::BackendParamName);

}  // namespace
}  // namespace agentmesh
