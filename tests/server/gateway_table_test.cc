// The gateway's routing table: built from membership, balancer choice, breakers and
// the path split, with a manual clock.
#include "server/gateway_table.h"

#include <map>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "fake_membership_store.h"
#include "server/gateway_relay.h"
#include "testing/manual_clock.h"

namespace agentmesh::server::internal {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::FakeMembershipStore;
using testing::ManualClock;

health::InstanceSpec Spec(std::string id, std::string agent, std::string address, int weight = 100,
                          std::vector<std::string> capabilities = {}) {
  health::InstanceSpec s;
  s.id = std::move(id);
  s.agent = std::move(agent);
  s.phase = 2;
  s.domain = "test";
  s.address = std::move(address);
  s.weight = weight;
  s.capabilities = std::move(capabilities);
  return s;
}

class GatewayTableTest : public ::testing::Test {
 protected:
  GatewayTableTest()
      : membership_(health::MembershipOptions{}, "node-a", store_, clock_, nullptr, metrics_) {
    options_.breaker.failure_threshold = 5;
    options_.breaker.recovery_timeout = 60s;
  }

  void Register(health::InstanceSpec spec) {
    std::optional<core::Result<RegisterReply>> out;
    asio::co_spawn(
        ioc_,
        [this, spec, &out]() -> asio::awaitable<void> {
          out = co_await membership_.Register(spec);
        },
        [](std::exception_ptr e) {
          if (e) {
            std::rethrow_exception(e);
          }
        });
    ioc_.restart();
    ioc_.run();
    ASSERT_TRUE(out.has_value() && out->has_value());
  }

  // Picks `n` times from `route` and counts the chosen instance ids (each call completes).
  std::map<std::string, int> PickMany(AgentRoute& route, int n) {
    std::map<std::string, int> counts;
    for (int i = 0; i < n; ++i) {
      std::lock_guard lock(route.mu);
      const Pick p = PickInstance(route, clock_.Now(), 0, {});
      if (p.index < 0) {
        ++counts["<none>"];
        continue;
      }
      UpstreamInstance& u = route.instances[static_cast<std::size_t>(p.index)];
      ++counts[u.id];
      --u.in_flight;
      u.breaker.OnSuccess(clock_.Now());
    }
    return counts;
  }

  ManualClock clock_;
  FakeMembershipStore store_{true};
  observe::Registry metrics_;
  MembershipService membership_;
  asio::io_context ioc_;
  GatewayOptions options_;
};

TEST_F(GatewayTableTest, FindsAgentsByNameInstanceIdAndCapability) {
  Register(Spec("a-1", "alpha", "127.0.0.1:1001", 100, {"search"}));
  Register(Spec("b-1", "beta", "127.0.0.1:2001", 100, {"search", "write"}));
  RoutingTable table(options_, membership_, clock_);
  std::string only;
  auto alpha = table.FindAgent("alpha", &only, clock_.Now());
  ASSERT_NE(alpha, nullptr);
  EXPECT_EQ(alpha->name, "alpha");
  EXPECT_TRUE(only.empty());
  auto by_id = table.FindAgent("b-1", &only, clock_.Now());
  ASSERT_NE(by_id, nullptr);
  EXPECT_EQ(by_id->name, "beta");
  EXPECT_EQ(only, "b-1");
  EXPECT_EQ(table.FindAgent("gamma", &only, clock_.Now()), nullptr);
  EXPECT_EQ(table.FindCapability("search", clock_.Now()).size(), 2u);
  EXPECT_EQ(table.FindCapability("write", clock_.Now()).size(), 1u);
  EXPECT_TRUE(table.FindCapability("none", clock_.Now()).empty());
}

TEST_F(GatewayTableTest, SeesNewRegistrationsWithoutWaitingForARefresh) {
  Register(Spec("a-1", "alpha", "127.0.0.1:1001"));
  RoutingTable table(options_, membership_, clock_);
  std::string only;
  ASSERT_NE(table.FindAgent("alpha", &only, clock_.Now()), nullptr);
  Register(Spec("b-1", "beta", "127.0.0.1:2001"));
  EXPECT_NE(table.FindAgent("beta", &only, clock_.Now()), nullptr);
}

TEST_F(GatewayTableTest, WeightedRoundRobinFollowsRegisteredWeights) {
  Register(Spec("a-1", "alpha", "127.0.0.1:1001", 300));
  Register(Spec("a-2", "alpha", "127.0.0.1:1002", 100));
  RoutingTable table(options_, membership_, clock_);
  std::string only;
  auto route = table.FindAgent("alpha", &only, clock_.Now());
  ASSERT_NE(route, nullptr);
  const auto counts = PickMany(*route, 400);
  EXPECT_EQ(counts.at("a-1"), 300);
  EXPECT_EQ(counts.at("a-2"), 100);
}

TEST_F(GatewayTableTest, OpenBreakerTakesAnInstanceOutUntilItsRecoveryTimeout) {
  Register(Spec("a-1", "alpha", "127.0.0.1:1001"));
  Register(Spec("a-2", "alpha", "127.0.0.1:1002"));
  RoutingTable table(options_, membership_, clock_);
  std::string only;
  auto route = table.FindAgent("alpha", &only, clock_.Now());
  ASSERT_NE(route, nullptr);
  {
    std::lock_guard lock(route->mu);
    for (int i = 0; i < 5; ++i) {
      route->instances[0].breaker.OnFailure(clock_.Now());
    }
    ASSERT_EQ(route->instances[0].breaker.state(), resilience::CircuitState::kOpen);
  }
  EXPECT_EQ(PickMany(*route, 10).count("a-1"), 0u);
  clock_.Advance(60s);
  EXPECT_GT(PickMany(*route, 10).count("a-1"), 0u);
}

TEST_F(GatewayTableTest, AllBreakersOpenIsCircuitOpenNotNoHealthy) {
  Register(Spec("a-1", "alpha", "127.0.0.1:1001"));
  Register(Spec("z-1", "zeta", ""));  // no address: not routable
  RoutingTable table(options_, membership_, clock_);
  std::string only;
  auto alpha = table.FindAgent("alpha", &only, clock_.Now());
  auto zeta = table.FindAgent("zeta", &only, clock_.Now());
  ASSERT_NE(alpha, nullptr);
  ASSERT_NE(zeta, nullptr);
  std::lock_guard lock(alpha->mu);
  for (int i = 0; i < 5; ++i) {
    alpha->instances[0].breaker.OnFailure(clock_.Now());
  }
  EXPECT_EQ(PickInstance(*alpha, clock_.Now(), 0, {}).failure, PickFailure::kCircuitOpen);
  std::lock_guard zeta_lock(zeta->mu);
  EXPECT_EQ(PickInstance(*zeta, clock_.Now(), 0, {}).failure, PickFailure::kNoHealthy);
}

TEST_F(GatewayTableTest, RetryAvoidsTheInstanceThatFailedWhileAnotherIsLeft) {
  Register(Spec("a-1", "alpha", "127.0.0.1:1001"));
  Register(Spec("a-2", "alpha", "127.0.0.1:1002"));
  RoutingTable table(options_, membership_, clock_);
  std::string only;
  auto route = table.FindAgent("alpha", &only, clock_.Now());
  std::lock_guard lock(route->mu);
  for (int i = 0; i < 10; ++i) {
    const Pick p = PickInstance(*route, clock_.Now(), 0, {"a-1"});
    ASSERT_GE(p.index, 0);
    EXPECT_EQ(route->instances[static_cast<std::size_t>(p.index)].id, "a-2");
    --route->instances[static_cast<std::size_t>(p.index)].in_flight;
  }
  // With every instance tried, the balancer may pick a tried one again.
  EXPECT_GE(PickInstance(*route, clock_.Now(), 0, {"a-1", "a-2"}).index, 0);
}

TEST_F(GatewayTableTest, ConsistentHashingKeepsAKeyOnOneInstance) {
  options_.consistent_hash_agents = {"alpha"};
  for (int i = 0; i < 5; ++i) {
    Register(Spec("a-" + std::to_string(i), "alpha", "127.0.0.1:100" + std::to_string(i)));
  }
  RoutingTable table(options_, membership_, clock_);
  std::string only;
  auto route = table.FindAgent("alpha", &only, clock_.Now());
  ASSERT_EQ(route->kind, BalancerKind::kConsistentHash);
  std::lock_guard lock(route->mu);
  const std::uint64_t hash = routing::HashKey("session-42");
  const Pick first = PickInstance(*route, clock_.Now(), hash, {});
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(PickInstance(*route, clock_.Now(), hash, {}).index, first.index);
  }
}

TEST(GatewayTargetTest, SplitsNameAndUpstreamPath) {
  CallContext call;
  ParseGatewayTarget("/agents/alpha/v1/run?x=1", call);
  EXPECT_FALSE(call.by_capability);
  EXPECT_EQ(call.name, "alpha");
  EXPECT_EQ(call.upstream_target, "/v1/run?x=1");

  CallContext bare;
  ParseGatewayTarget("/agents/alpha?x=1", bare);
  EXPECT_EQ(bare.name, "alpha");
  EXPECT_EQ(bare.upstream_target, "/?x=1");

  CallContext cap;
  ParseGatewayTarget("/api/v1/search/q", cap);
  EXPECT_TRUE(cap.by_capability);
  EXPECT_EQ(cap.name, "search");
  EXPECT_EQ(cap.upstream_target, "/q");
}

TEST(GatewayTargetTest, AReusedCallStartsFromTheDefaults) {
  CallContext call;
  ParseGatewayTarget("/api/v1/search/a-path-longer-than-the-inline-capacity?with=query", call);
  call.keep_alive = false;
  call.correlation_id = "corr-1";
  call.head_sampled = true;
  call.priority = resilience::Priority::kHigh;
  call.streamed = true;
  call.tracestate = "vendor=1";
  call.caller = "caller-agent";
  call.agent = "search";
  call.instance = "search-1";
  call.attempts = 2;
  const std::size_t capacity = call.upstream_target.capacity();

  call.Reset();
  const CallContext fresh;
  EXPECT_EQ(call.keep_alive, fresh.keep_alive);
  EXPECT_EQ(call.by_capability, fresh.by_capability);
  EXPECT_TRUE(call.correlation_id.empty());
  EXPECT_EQ(call.head_sampled, fresh.head_sampled);
  EXPECT_EQ(call.priority, fresh.priority);
  EXPECT_EQ(call.streamed, fresh.streamed);
  EXPECT_EQ(call.attempts, fresh.attempts);
  for (const std::string* text : {&call.name, &call.upstream_target, &call.tracestate, &call.caller,
                                  &call.agent, &call.instance}) {
    EXPECT_TRUE(text->empty()) << *text;
  }
  EXPECT_EQ(call.upstream_target.capacity(), capacity);  // the buffer is kept

  ParseGatewayTarget("/agents/alpha/v1", call);
  EXPECT_FALSE(call.by_capability);
  EXPECT_EQ(call.name, "alpha");
  EXPECT_EQ(call.upstream_target, "/v1");
}

TEST(GatewayTargetTest, HeavyRoutesMatchByPrefix) {
  GatewayOptions o;
  o.heavy_routes = {"/agents/trainer/train"};
  EXPECT_TRUE(IsHeavyRoute(o, "/agents/trainer/train/big"));
  EXPECT_FALSE(IsHeavyRoute(o, "/agents/trainer/status"));
}

}  // namespace
}  // namespace agentmesh::server::internal
