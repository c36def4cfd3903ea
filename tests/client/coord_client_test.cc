#include "agentmesh/client/coord_client.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "client/fake_http_server.h"

namespace agentmesh::client {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpServer;
using testing::FakeReply;
using testing::RecordedRequest;
using Requests = std::vector<RecordedRequest>;

// Polls `done` until it holds (true) or 5 s passed (false): callbacks run on the client's
// callback thread and leave no request to wait on.
bool Eventually(const std::function<bool()>& done) {
  const core::TimePoint deadline = core::SystemClock::Instance().Now() + 5s;
  while (!done()) {
    if (core::SystemClock::Instance().Now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::uint64_t Seed() {
  return static_cast<std::uint64_t>(::testing::UnitTest::GetInstance()->random_seed()) + 1;
}

TEST(ElectionBackoffTest, StepsDoubleFromTwoSecondsAndCapAtThirty) {
  const ElectionBackoff backoff;
  const std::vector<core::Duration> expected = {2s, 4s, 8s, 16s, 30s, 30s, 30s};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(backoff.Step(static_cast<int>(i) + 1), expected[i]) << "after " << i + 1;
  }
  EXPECT_EQ(backoff.Step(1000), 30s);
}

TEST(ElectionBackoffTest, WithoutJitterNextIsExactlyTheSchedule) {
  ElectionBackoff backoff;
  backoff.jitter = 0;
  core::Random random(Seed());
  const std::vector<core::Duration> expected = {2s, 4s, 8s, 16s, 30s, 30s};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(backoff.Next(static_cast<int>(i) + 1, random), expected[i]);
  }
}

TEST(ElectionBackoffTest, JitterAddsUpToTenPercentOfTheStep) {
  const ElectionBackoff backoff;
  const std::uint64_t seed = Seed();
  core::Random random(seed);
  for (int failures = 1; failures <= 6; ++failures) {
    const core::Duration step = backoff.Step(failures);
    core::Duration lowest = core::Duration::max();
    core::Duration highest = core::Duration::zero();
    for (int draw = 0; draw < 1000; ++draw) {
      const core::Duration next = backoff.Next(failures, random);
      ASSERT_GE(next, step) << "seed " << seed;
      ASSERT_LT(next, step + step / 10) << "seed " << seed;
      lowest = std::min(lowest, next);
      highest = std::max(highest, next);
    }
    // 1000 uniform draws cover most of the range: the jitter spreads retries.
    EXPECT_LT(lowest, step + step / 100) << "seed " << seed;
    EXPECT_GT(highest, step + step * 9 / 100) << "seed " << seed;
  }
}

TEST(ElectionBackoffTest, SameSeedGivesSameSchedule) {
  const ElectionBackoff backoff;
  core::Random a(42);
  core::Random b(42);
  for (int failures = 1; failures <= 8; ++failures) {
    EXPECT_EQ(backoff.Next(failures, a), backoff.Next(failures, b));
  }
}

TEST(ElectionBackoffTest, ValidateRejectsShrinkingOrInvertedBounds) {
  EXPECT_TRUE(Validate(ElectionBackoff{}).ok());
  EXPECT_EQ(Validate(ElectionBackoff{.multiplier = 0.5}).reason(), "invalid_option");
  EXPECT_EQ(Validate(ElectionBackoff{.initial = 40s}).reason(), "invalid_option");
  EXPECT_EQ(Validate(ElectionBackoff{.jitter = -0.1}).reason(), "invalid_option");
}

TEST(CoordClientOptionsTest, ValidateChecksUrlAgentAndTimeout) {
  EXPECT_TRUE(Validate(CoordClientOptions{.agent = "coder"}).ok());
  EXPECT_EQ(Validate(CoordClientOptions{.node_url = "ftp://x"}).reason(), "invalid_url");
  EXPECT_FALSE(Validate(CoordClientOptions{.agent = "Bad Agent!"}).ok());
  EXPECT_EQ(Validate(CoordClientOptions{.request_timeout = 0s}).reason(), "invalid_option");
  EXPECT_EQ(Validate(SessionOptions{.ttl = 5s, .renew_interval = 5s}).reason(), "invalid_option");
}

// A node that answers the coordination API from canned state.
class FakeCoordNode {
 public:
  FakeCoordNode() : server_([this](const RecordedRequest& r) { return Handle(r); }) {}

  std::string Url() const { return server_.Url(); }
  FakeHttpServer& server() { return server_; }

  void SetRenewReply(FakeReply reply) {
    std::lock_guard lock(mu_);
    renew_reply_ = std::move(reply);
  }
  void SetLeaderSession(std::string session) {
    std::lock_guard lock(mu_);
    leader_session_ = std::move(session);
  }

  static std::size_t CountIn(const Requests& all, std::string_view method,
                             std::string_view target) {
    return std::count_if(all.begin(), all.end(), [&](const RecordedRequest& r) {
      return r.method == method && r.target == target;
    });
  }

  std::size_t Count(std::string_view method, std::string_view target) const {
    return CountIn(server_.Requests(), method, target);
  }

  bool WaitForCount(std::string_view method, std::string_view target, std::size_t n,
                    core::Duration timeout = std::chrono::seconds(5)) {
    return server_.WaitFor([&](const Requests& all) { return CountIn(all, method, target) >= n; },
                           timeout);
  }

 private:
  static FakeReply Error(int status, std::string code) {
    return {status, R"({"error":{"code":")" + code + R"(","message":"fake node says no"}})"};
  }

  FakeReply Handle(const RecordedRequest& r) {
    std::lock_guard lock(mu_);
    if (r.method == "POST" && r.target == "/v1/sessions") {
      return {201, R"({"id":"s1","agent":"coder","ttl":"1s"})"};
    }
    if (r.target == "/v1/sessions/s1/renew") {
      return renew_reply_;
    }
    if (r.method == "DELETE") {
      return {200, R"({"id":"s1","destroyed":true})"};
    }
    if (r.target == "/v1/locks/jobs%2Fx/acquire") {
      return {200, R"({"name":"jobs/x","token":7,"mode":"exclusive","session":"s1",)"
                   R"("expires_in_ms":60000})"};
    }
    if (r.target == "/v1/locks/busy/acquire") {
      return Error(409, "lock_held");
    }
    if (r.target == "/v1/lock-sets/acquire") {
      return {200, R"({"names":["a","b"],"tokens":{"a":11,"b":12},"mode":"shared",)"
                   R"("session":"s1","expires_in_ms":60000})"};
    }
    if (r.target.ends_with("/renew") || r.target.ends_with("/release")) {
      return {200, R"({"released":true,"expires_in_ms":60000})"};
    }
    if (r.target == "/v1/elections/coordinator%2Fglobal/resign") {
      return {200, R"({"name":"coordinator/global","leader":null,"resigned":true})"};
    }
    if (r.target == "/v1/elections/coordinator%2Fglobal/campaign") {
      if (leader_session_ != "s1") {
        return Error(409, "not_elected");
      }
      return {200, R"({"name":"coordinator/global","leader":{"session":"s1","agent":"coder",)"
                   R"("value":"v"},"term":5})"};
    }
    if (r.target == "/v1/elections/coordinator%2Fglobal") {
      return {200, R"({"name":"coordinator/global","leader":{"session":")" + leader_session_ +
                       R"(","agent":"x","value":""},"term":5})"};
    }
    return Error(404, "not_found");
  }

  FakeHttpServer server_;
  mutable std::mutex mu_;
  FakeReply renew_reply_{200, R"({"id":"s1","ttl":"1s","expires_in_ms":1000})"};
  std::string leader_session_ = "s1";
};

CoordClientOptions Options(const FakeCoordNode& node) {
  return {.node_url = node.Url(), .request_timeout = 2s, .agent = "coder"};
}

SessionOptions FastSession() { return {.ttl = 1s, .renew_interval = 20ms, .renew_retry = 20ms}; }

TEST(SessionTest, RenewsInTheBackgroundAndIsDestroyedOnScopeExit) {
  FakeCoordNode node;
  CoordClient client(Options(node));
  {
    auto session = client.CreateSession(FastSession());
    ASSERT_TRUE(session) << session.error().ToString();
    EXPECT_EQ(session->id(), "s1");
    EXPECT_EQ(session->ttl(), 1s);
    ASSERT_TRUE(node.WaitForCount("PUT", "/v1/sessions/s1/renew", 3));
    EXPECT_EQ(node.Count("DELETE", "/v1/sessions/s1"), 0u);
  }
  EXPECT_EQ(node.Count("DELETE", "/v1/sessions/s1"), 1u);
  const auto body = boost::json::parse(node.server().Requests().front().body);
  EXPECT_EQ(body.at("agent"), "coder");
  EXPECT_EQ(body.at("ttl"), "1s");
}

TEST(SessionTest, RenewalAnswered404MarksTheSessionLostAndCallsBack) {
  FakeCoordNode node;
  node.SetRenewReply({404, R"({"error":{"code":"unknown_session","message":"gone"}})"});
  CoordClient client(Options(node));
  std::atomic<int> lost_calls{0};
  SessionOptions options = FastSession();
  options.on_lost = [&] { lost_calls.fetch_add(1); };
  {
    auto session = client.CreateSession(options);
    ASSERT_TRUE(session);
    ASSERT_TRUE(node.WaitForCount("PUT", "/v1/sessions/s1/renew", 1));
    ASSERT_TRUE(Eventually([&] { return lost_calls.load() == 1; }));
    EXPECT_TRUE(session->lost());
  }
  EXPECT_EQ(lost_calls.load(), 1);
  EXPECT_EQ(node.Count("PUT", "/v1/sessions/s1/renew"), 1u);
  EXPECT_EQ(node.Count("DELETE", "/v1/sessions/s1"), 0u);  // nothing left to destroy
}

TEST(LockGuardTest, HoldsTheTokenAndReleasesOnScopeExit) {
  FakeCoordNode node;
  CoordClient client(Options(node));
  auto session = client.CreateSession();
  ASSERT_TRUE(session);
  {
    auto lock = LockGuard::Acquire(*session, "jobs/x", LockMode::kExclusive, 1500ms);
    ASSERT_TRUE(lock) << lock.error().ToString();
    EXPECT_EQ(lock->token(), 7u);
    EXPECT_EQ(lock->name(), "jobs/x");
    EXPECT_TRUE(lock->held());
    EXPECT_EQ(node.Count("POST", "/v1/locks/jobs%2Fx/release"), 0u);
  }
  ASSERT_EQ(node.Count("POST", "/v1/locks/jobs%2Fx/release"), 1u);
  const Requests all = node.server().Requests();
  const auto acquire = boost::json::parse(all[1].body);
  EXPECT_EQ(acquire.at("session"), "s1");
  EXPECT_EQ(acquire.at("mode"), "exclusive");
  EXPECT_EQ(acquire.at("wait_ms"), 1500);
  EXPECT_EQ(boost::json::parse(all.back().body).at("session"), "s1");
}

TEST(LockGuardTest, RenewsAtMostMaxRenewalsTimes) {
  FakeCoordNode node;
  CoordClient client(Options(node));
  auto session = client.CreateSession();
  ASSERT_TRUE(session);
  auto lock = LockGuard::Acquire(*session, "jobs/x", LockMode::kExclusive, 0s,
                                 {.renew_interval = 5ms, .max_renewals = 3});
  ASSERT_TRUE(lock);
  ASSERT_TRUE(node.WaitForCount("POST", "/v1/locks/jobs%2Fx/renew", 3));
  EXPECT_FALSE(node.WaitForCount("POST", "/v1/locks/jobs%2Fx/renew", 4, 100ms));
}

TEST(LockGuardTest, LockHeldElsewhereIsAnErrorWithTheNodesReason) {
  FakeCoordNode node;
  CoordClient client(Options(node));
  auto session = client.CreateSession();
  ASSERT_TRUE(session);
  auto lock = LockGuard::Acquire(*session, "busy");
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(lock.error().reason(), "lock_held");
  EXPECT_EQ(LockGuard::Acquire(*session, "bad name").error().reason(), "invalid_name");
}

TEST(LockSetTest, TakesEveryTokenAndReleasesEachLock) {
  FakeCoordNode node;
  CoordClient client(Options(node));
  auto session = client.CreateSession();
  ASSERT_TRUE(session);
  {
    auto set = LockSet::Acquire(*session, {"b", "a"}, LockMode::kShared);
    ASSERT_TRUE(set) << set.error().ToString();
    EXPECT_EQ(set->tokens(), (std::map<std::string, std::uint64_t>{{"a", 11}, {"b", 12}}));
  }
  EXPECT_EQ(node.Count("POST", "/v1/locks/a/release"), 1u);
  EXPECT_EQ(node.Count("POST", "/v1/locks/b/release"), 1u);
}

TEST(ElectionTest, CallsBackWhenElectedAndWhenAnotherLeaderShows) {
  FakeCoordNode node;
  CoordClient client(Options(node));
  auto session = client.CreateSession();
  ASSERT_TRUE(session);
  std::atomic<std::uint64_t> elected_term{0};
  std::atomic<int> lost{0};
  ElectionCallbacks callbacks{.on_elected = [&](std::uint64_t t) { elected_term.store(t); },
                              .on_lost = [&] { lost.fetch_add(1); }};
  auto election =
      Election::Campaign(*session, "coordinator/global", "v", callbacks, {.check_interval = 10ms});
  ASSERT_TRUE(election) << election.error().ToString();
  ASSERT_TRUE(Eventually([&] { return elected_term.load() == 5; }));
  EXPECT_TRUE(election->leading());
  EXPECT_EQ(election->term(), 5u);
  ASSERT_TRUE(node.WaitForCount("GET", "/v1/elections/coordinator%2Fglobal", 2));
  EXPECT_EQ(lost.load(), 0);
  node.SetLeaderSession("s2");
  ASSERT_TRUE(Eventually([&] { return lost.load() == 1; }));
  EXPECT_FALSE(election->leading());
}

TEST(ElectionTest, ResignEndsLeadershipAndCallsBackOnce) {
  FakeCoordNode node;
  CoordClient client(Options(node));
  auto session = client.CreateSession();
  ASSERT_TRUE(session);
  std::atomic<int> elected{0};
  std::atomic<int> lost{0};
  auto election = Election::Campaign(
      *session, "coordinator/global", "v",
      {.on_elected = [&](std::uint64_t) { elected.fetch_add(1); }, .on_lost = [&] { lost++; }});
  ASSERT_TRUE(election);
  ASSERT_TRUE(Eventually([&] { return elected.load() == 1; }));
  ASSERT_TRUE(election->Resign("reviewer").ok());
  EXPECT_FALSE(election->leading());
  ASSERT_TRUE(Eventually([&] { return lost.load() == 1; }));
  const RecordedRequest resign = node.server().Requests().back();
  EXPECT_EQ(resign.target, "/v1/elections/coordinator%2Fglobal/resign");
  EXPECT_EQ(boost::json::parse(resign.body).at("successor"), "reviewer");
}

}  // namespace
}  // namespace agentmesh::client
