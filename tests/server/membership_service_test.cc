#include "agentmesh/server/membership_service.h"

#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "fake_membership_store.h"
#include "testing/manual_clock.h"

namespace agentmesh::server {
namespace {

namespace asio = boost::asio;
using testing::FakeMembershipStore;
using testing::ManualClock;

health::InstanceSpec Spec(std::string id, int phase = 1, std::string address = "") {
  health::InstanceSpec s;
  s.id = std::move(id);
  s.agent = "ai-agent-orchestrator";
  s.phase = phase;
  s.address = std::move(address);
  return s;
}

class MembershipServiceTest : public ::testing::Test {
 protected:
  explicit MembershipServiceTest(bool auto_commit = true) : store_(auto_commit) {}

  MembershipService& service() {
    if (!service_) {
      service_.emplace(health::MembershipOptions{}, "node-a", store_, clock_, nullptr, metrics_);
    }
    return *service_;
  }

  // Starts Register on the io_context; the result lands in *out when it completes.
  void StartRegister(health::InstanceSpec spec, std::optional<core::Result<RegisterReply>>* out) {
    asio::co_spawn(
        ioc_,
        [this, spec, out]() -> asio::awaitable<void> { *out = co_await service().Register(spec); },
        [](std::exception_ptr e) {
          if (e) {
            std::rethrow_exception(e);
          }
        });
  }

  core::Result<RegisterReply> Register(health::InstanceSpec spec) {
    std::optional<core::Result<RegisterReply>> out;
    StartRegister(std::move(spec), &out);
    ioc_.restart();
    ioc_.run();
    return *out;
  }

  core::Result<health::InstanceView> Deregister(std::string id) {
    std::optional<core::Result<health::InstanceView>> out;
    asio::co_spawn(
        ioc_,
        [this, id, &out]() -> asio::awaitable<void> { out = co_await service().Deregister(id); },
        asio::detached);
    ioc_.restart();
    ioc_.run();
    return *out;
  }

  asio::io_context ioc_;
  ManualClock clock_;
  observe::Registry metrics_;
  FakeMembershipStore store_;
  std::optional<MembershipService> service_;
};

class MembershipServiceManualCommitTest : public MembershipServiceTest {
 protected:
  MembershipServiceManualCommitTest() : MembershipServiceTest(false) {}
};

TEST_F(MembershipServiceManualCommitTest, RegisterAnswersOnlyAfterStoreCommit) {
  std::optional<core::Result<RegisterReply>> out;
  StartRegister(Spec("orch-1"), &out);
  ioc_.poll();
  EXPECT_FALSE(out.has_value());
  EXPECT_EQ(store_.pending(), 1u);
  store_.CommitAll();
  ioc_.restart();
  ioc_.run();
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((*out)->outcome, health::RegisterOutcome::kCreated);
  EXPECT_EQ((*out)->view.state, health::HealthState::kHealthy);
}

TEST_F(MembershipServiceManualCommitTest, StoreFailureIsReturned) {
  std::optional<core::Result<RegisterReply>> out;
  StartRegister(Spec("orch-1"), &out);
  ioc_.poll();
  store_.CommitAll(core::Unavailable("store_unavailable", "disk gone"));
  ioc_.restart();
  ioc_.run();
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(out->has_value());
  EXPECT_EQ((*out).error().reason(), "store_unavailable");
}

TEST_F(MembershipServiceTest, RegisterTwiceIsCreatedThenUnchanged) {
  EXPECT_EQ(Register(Spec("a"))->outcome, health::RegisterOutcome::kCreated);
  EXPECT_EQ(Register(Spec("a"))->outcome, health::RegisterOutcome::kUnchanged);
  EXPECT_EQ(store_.ops(), (std::vector<std::string>{"put a healthy", "put a healthy"}));
}

TEST_F(MembershipServiceTest, DeregisterUnknownIsNotFoundWithoutStoreWrite) {
  auto r = Deregister("ghost");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason(), "unknown_instance");
  EXPECT_TRUE(store_.ops().empty());
}

TEST_F(MembershipServiceTest, DeregisterRemovesFromStoreAndReportsLeft) {
  ASSERT_TRUE(Register(Spec("a")).has_value());
  auto r = Deregister("a");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->state, health::HealthState::kLeft);
  EXPECT_EQ(store_.ops().back(), "remove a");
}

TEST_F(MembershipServiceTest, HeartbeatErrorsForUnknownAndLeft) {
  EXPECT_EQ(service().Heartbeat("ghost", {}).error().reason(), "unknown_instance");
  ASSERT_TRUE(Register(Spec("a")).has_value());
  EXPECT_EQ(*service().Heartbeat("a", {.cpu = 0.5}), health::HealthState::kHealthy);
  ASSERT_TRUE(Deregister("a").has_value());
  auto left = service().Heartbeat("a", {});
  EXPECT_EQ(left.error().code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(left.error().reason(), "instance_left");
}

TEST_F(MembershipServiceTest, FailedCheckTransitionIsPersistedAndCounted) {
  ASSERT_TRUE(Register(Spec("a", 1, "127.0.0.1:9")).has_value());
  ASSERT_TRUE(service().RecordCheck("a", false).ok());
  const auto ops = store_.ops();
  EXPECT_EQ(ops.back(), "state a suspect");
  const std::string text = metrics_.Render();
  EXPECT_NE(text.find("agentmesh_health_transitions_total{from=\"healthy\",to=\"suspect\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("agentmesh_health_checks_total{result=\"failed\"} 1"), std::string::npos);
  EXPECT_NE(text.find("agentmesh_agents{phase=\"1\",state=\"suspect\"} 1"), std::string::npos);
}

TEST_F(MembershipServiceTest, RestoreLoadsEveryStoredInstance) {
  store_.stored.push_back({Spec("a", 2), health::HealthState::kUnhealthy, clock_.WallNow()});
  store_.stored.push_back({Spec("b", 3), health::HealthState::kHealthy, clock_.WallNow()});
  ASSERT_TRUE(service().Restore().ok());
  EXPECT_EQ(service().List({}).size(), 2u);
  EXPECT_EQ(service().Get("a")->state, health::HealthState::kUnhealthy);
}

TEST_F(MembershipServiceTest, CheckTargetsListInstancesWithAddress) {
  ASSERT_TRUE(Register(Spec("a", 1, "127.0.0.1:9")).has_value());
  ASSERT_TRUE(Register(Spec("b")).has_value());
  const auto targets = service().CheckTargets();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].first, "a");
  EXPECT_EQ(service().observer(), "node:node-a");
}

}  // namespace
}  // namespace agentmesh::server
