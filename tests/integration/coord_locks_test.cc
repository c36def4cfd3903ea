// Locks of the real binary on both backends: exclusion, shared mode, fencing tokens,
// prompt hand-off, lock sets (all or nothing, also while waiting), the lock hierarchy, the
// maximum hold time and the renewal limit.
#include <chrono>
#include <future>
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
using testing::Uint;
namespace json = boost::json;

// A lock is taken back 1 s after its grant.
constexpr char kShortHoldPolicy[] = R"(node:
  tick_interval: 100ms
health:
  check_interval: 10m
locks:
  timeout: 1s
  renewal_interval: 500ms
)";

// Two renewals at most; a two-level hierarchy, outermost first.
constexpr char kOrderedLocksPolicy[] = R"(node:
  tick_interval: 100ms
health:
  check_interval: 10m
locks:
  max_renewals: 2
  hierarchy: [fleet/, agent/]
)";

class CoordLocksTest : public testing::CoordFixture {};

TEST_P(CoordLocksTest, ExclusiveLockExcludesUntilWaitRunsOut) {
  Start();
  const std::string a = api_.Session("alpha");
  const std::string b = api_.Session("bravo");
  const JsonReply held = api_.Acquire("res", a);
  ASSERT_EQ(held.status, 200) << held.raw;
  EXPECT_EQ(Str(held.body, "mode"), "exclusive");
  EXPECT_GT(Uint(held.body, "token"), 0u);
  EXPECT_GT(Int(held.body, "expires_in_ms"), 0);

  const auto before = std::chrono::steady_clock::now();
  const JsonReply refused = api_.Acquire("res", b, 200);
  const long long waited = testing::MillisBetween(before, std::chrono::steady_clock::now());
  EXPECT_EQ(refused.status, 409) << refused.raw;
  EXPECT_EQ(ErrorCodeOf(refused), "lock_held");
  EXPECT_GE(waited, 190);
  EXPECT_LT(waited, 3000);
  EXPECT_EQ(ErrorCodeOf(api_.Acquire("res", b, 0)), "lock_held");

  const JsonReply view = api_.GetLock("res");
  ASSERT_EQ(view.status, 200) << view.raw;
  const auto holders = api_.Holders("res");
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(Str(holders[0], "session"), a);
  EXPECT_EQ(Str(holders[0], "agent"), "alpha");
  EXPECT_EQ(Uint(holders[0], "token"), Uint(held.body, "token"));
  EXPECT_EQ(Int(view.body, "waiters"), 0);
  EXPECT_TRUE(api_.HasEvent("lock.acquired", "session", a));
}

TEST_P(CoordLocksTest, SharedHoldersCoexistAndExcludeExclusive) {
  Start();
  const std::string a = api_.Session("alpha");
  const std::string b = api_.Session("bravo");
  const std::string c = api_.Session("charlie");
  const JsonReply ra = api_.Acquire("catalog", a, 0, "shared");
  const JsonReply rb = api_.Acquire("catalog", b, 0, "shared");
  ASSERT_EQ(ra.status, 200) << ra.raw;
  ASSERT_EQ(rb.status, 200) << rb.raw;
  EXPECT_GT(Uint(rb.body, "token"), Uint(ra.body, "token"));
  EXPECT_EQ(api_.Holders("catalog").size(), 2u);
  EXPECT_EQ(ErrorCodeOf(api_.Acquire("catalog", c, 100, "exclusive")), "lock_held");

  ASSERT_EQ(api_.Release("catalog", a).status, 200);
  ASSERT_EQ(api_.Release("catalog", b).status, 200);
  const JsonReply rc = api_.Acquire("catalog", c, 0, "exclusive");
  ASSERT_EQ(rc.status, 200) << rc.raw;
  EXPECT_EQ(ErrorCodeOf(api_.Acquire("catalog", a, 0, "shared")), "lock_held");
}

TEST_P(CoordLocksTest, FencingTokensStrictlyIncrease) {
  Start();
  const std::vector<std::string> sessions = {api_.Session("alpha"), api_.Session("bravo")};
  unsigned long long last = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string& s = sessions[i % 2];
    const std::string name = "res-" + std::to_string(i % 3);
    const JsonReply r = api_.Acquire(name, s);
    ASSERT_EQ(r.status, 200) << r.raw;
    const unsigned long long token = Uint(r.body, "token");
    EXPECT_GT(token, last) << "grant " << i;
    last = token;
    ASSERT_EQ(api_.Release(name, s).status, 200);
  }
}

TEST_P(CoordLocksTest, ReleaseByANonHolderIs409AndChangesNothing) {
  Start();
  const std::string a = api_.Session("alpha");
  const std::string b = api_.Session("bravo");
  const JsonReply held = api_.Acquire("res", a);
  ASSERT_EQ(held.status, 200);
  for (const std::string& who : {b, std::string("no-such-session")}) {
    const JsonReply r = api_.Release("res", who);
    EXPECT_EQ(r.status, 409) << r.raw;
    EXPECT_EQ(ErrorCodeOf(r), "not_holder") << r.raw;
  }
  const auto holders = api_.Holders("res");
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(Str(holders[0], "session"), a);
  EXPECT_EQ(Uint(holders[0], "token"), Uint(held.body, "token"));
  EXPECT_TRUE(api_.Events("lock.released").empty());
}

TEST_P(CoordLocksTest, BlockedWaiterGetsTheLockPromptlyAfterRelease) {
  Start();
  const std::string a = api_.Session("alpha");
  const std::string b = api_.Session("bravo");
  const JsonReply held = api_.Acquire("res", a);
  ASSERT_EQ(held.status, 200);
  auto waiter = Async([&] { return api_.Acquire("res", b, 8000); });
  ASSERT_TRUE(testing::WaitFor([&] { return Int(api_.GetLock("res").body, "waiters") == 1; }, 5s));
  EXPECT_EQ(waiter.wait_for(0ms), std::future_status::timeout) << "granted while held";

  const auto released_at = std::chrono::steady_clock::now();
  ASSERT_EQ(api_.Release("res", a).status, 200);
  const testing::TimedReply granted = waiter.get();
  ASSERT_EQ(granted.reply.status, 200) << granted.reply.raw;
  EXPECT_LT(testing::MillisBetween(released_at, granted.at), 500);
  EXPECT_GT(Uint(granted.reply.body, "token"), Uint(held.body, "token"));
  const auto holders = api_.Holders("res");
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(Str(holders[0], "session"), b);
}

TEST_P(CoordLocksTest, LockSetIsAllOrNothing) {
  Start();
  const std::string a = api_.Session("alpha");
  const std::string b = api_.Session("bravo");
  ASSERT_EQ(api_.Acquire("set-b", a).status, 200);

  // Refused at once or after waiting: none of the set is held afterwards.
  for (const long long wait_ms : {0, 300}) {
    const JsonReply refused = api_.AcquireSet({"set-c", "set-a", "set-b"}, b, wait_ms);
    EXPECT_EQ(refused.status, 409) << refused.raw;
    EXPECT_EQ(ErrorCodeOf(refused), "lock_held");
    EXPECT_TRUE(api_.Holders("set-a").empty()) << "wait_ms " << wait_ms;
    EXPECT_TRUE(api_.Holders("set-c").empty()) << "wait_ms " << wait_ms;
  }

  auto waiter = Async([&] { return api_.AcquireSet({"set-c", "set-a", "set-b"}, b, 8000); });
  ASSERT_TRUE(
      testing::WaitFor([&] { return Int(api_.GetLock("set-b").body, "waiters") == 1; }, 5s));
  ASSERT_EQ(api_.Release("set-b", a).status, 200);
  const JsonReply granted = waiter.get().reply;
  ASSERT_EQ(granted.status, 200) << granted.raw;
  const json::object& tokens = granted.body.at("tokens").as_object();
  EXPECT_EQ(tokens.size(), 3u);
  for (const std::string name : {"set-a", "set-b", "set-c"}) {
    ASSERT_TRUE(tokens.contains(name)) << name;
    const auto holders = api_.Holders(name);
    ASSERT_EQ(holders.size(), 1u) << name;
    EXPECT_EQ(Str(holders[0], "session"), b) << name;
    EXPECT_EQ(Uint(holders[0], "token"), tokens.at(name).to_number<unsigned long long>());
  }
}

TEST_P(CoordLocksTest, WaitingLockSetHoldsNoneOfItsLocks) {
  Start();
  const std::string a = api_.Session("alpha");
  const std::string b = api_.Session("bravo");
  ASSERT_EQ(api_.Acquire("set-b", a).status, 200);
  auto waiter = Async([&] { return api_.AcquireSet({"set-c", "set-a", "set-b"}, b, 8000); });
  ASSERT_TRUE(
      testing::WaitFor([&] { return Int(api_.GetLock("set-b").body, "waiters") == 1; }, 5s));
  EXPECT_TRUE(api_.Holders("set-a").empty());
  EXPECT_TRUE(api_.Holders("set-c").empty());
  ASSERT_EQ(api_.Release("set-b", a).status, 200);
  const JsonReply granted = waiter.get().reply;
  ASSERT_EQ(granted.status, 200) << granted.raw;
  EXPECT_EQ(granted.body.at("tokens").as_object().size(), 3u);
}

TEST_P(CoordLocksTest, HierarchyRefusesOuterLockWhileHoldingInner) {
  Start(kOrderedLocksPolicy);
  const std::string a = api_.Session("alpha");
  ASSERT_EQ(api_.Acquire("agent/worker-1", a).status, 200);
  const JsonReply refused = api_.Acquire("fleet/config", a);
  EXPECT_EQ(refused.status, 409) << refused.raw;
  EXPECT_EQ(ErrorCodeOf(refused), "lock_order_violation");
  EXPECT_TRUE(api_.Holders("fleet/config").empty());

  // Outermost first is fine, and names outside the hierarchy are not ordered.
  const std::string b = api_.Session("bravo");
  ASSERT_EQ(api_.Acquire("fleet/config", b).status, 200);
  EXPECT_EQ(api_.Acquire("agent/worker-2", b).status, 200);
  EXPECT_EQ(api_.Acquire("scratch", b).status, 200);
}

TEST_P(CoordLocksTest, MaxHoldTakesTheLockBackForAWaiter) {
  Start(kShortHoldPolicy);
  const std::string a = api_.Session("alpha");
  const std::string b = api_.Session("bravo");
  const JsonReply held = api_.Acquire("res", a);
  ASSERT_EQ(held.status, 200) << held.raw;
  EXPECT_LE(Int(held.body, "expires_in_ms"), 1000);

  const auto started = std::chrono::steady_clock::now();
  const JsonReply granted = api_.Acquire("res", b, 8000);
  ASSERT_EQ(granted.status, 200) << granted.raw;
  EXPECT_GE(testing::MillisBetween(started, std::chrono::steady_clock::now()), 500);
  EXPECT_GT(Uint(granted.body, "token"), Uint(held.body, "token"));
  EXPECT_TRUE(api_.WaitForEvent("lock.expired", "session", a));
  EXPECT_EQ(ErrorCodeOf(api_.Release("res", a)), "not_holder");
  EXPECT_EQ(api_.GetSession(a).status, 200) << "the session outlives its taken-back lock";
}

TEST_P(CoordLocksTest, RenewalsStopAtMaxRenewals) {
  Start(kOrderedLocksPolicy);
  const std::string a = api_.Session("alpha");
  ASSERT_EQ(api_.Acquire("res", a).status, 200);
  for (int i = 1; i <= 2; ++i) {
    const JsonReply r = api_.RenewLock("res", a);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(Int(r.body, "renewals"), i);
  }
  const JsonReply refused = api_.RenewLock("res", a);
  EXPECT_EQ(refused.status, 409) << refused.raw;
  EXPECT_EQ(ErrorCodeOf(refused), "max_renewals_exceeded");
  const auto holders = api_.Holders("res");
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(Int(holders[0], "renewals"), 2);

  const std::string b = api_.Session("bravo");
  EXPECT_EQ(ErrorCodeOf(api_.RenewLock("res", b)), "not_holder");
}

INSTANTIATE_TEST_SUITE_P(Backends, CoordLocksTest, testing::BothBackends(),
                         testing::BackendParamName);

}  // namespace
}  // namespace agentmesh
