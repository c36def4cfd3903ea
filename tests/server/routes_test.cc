#include "agentmesh/server/routes.h"

#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "agentmesh/server/errors.h"

#include "fake_membership_store.h"
#include "testing/manual_clock.h"

namespace agentmesh::server {
namespace {

namespace asio = boost::asio;

class RoutesTest : public ::testing::Test {
 protected:
  RoutesTest()
      : service_(health::MembershipOptions{}, "node-a", store_, clock_, nullptr, metrics_) {
    AddAgentRoutes(router_, service_);
    AddAdminRoutes(router_, service_, metrics_, [](std::size_t) {
      return boost::json::array{boost::json::object{{"event_type", "agent.registered"}}};
    });
  }

  // Routes one request the way the HTTP server does, running async handlers to the end.
  Response Call(Method method, std::string_view target, std::string_view body = "") {
    Request req;
    req.method = method;
    const std::size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string_view::npos ? "" : target.substr(q + 1);
    req.body = body;
    RouteMatch m = router_.Match(method, req.path, &req);
    if (m.endpoint < 0) {
      return ErrorResponse(ApiError{m.error, {}}, m.allow);
    }
    const Endpoint& e = router_.endpoints()[m.endpoint];
    if (e.sync) {
      return e.sync(req);
    }
    std::optional<Response> out;
    asio::co_spawn(
        ioc_, [&]() -> asio::awaitable<void> { out = co_await e.async(req); }, asio::detached);
    ioc_.restart();
    ioc_.run();
    return *out;
  }

  static boost::json::value Json(const Response& r) { return boost::json::parse(r.body); }

  asio::io_context ioc_;
  testing::ManualClock clock_;
  observe::Registry metrics_;
  testing::FakeMembershipStore store_;
  MembershipService service_;
  Router router_;
};

constexpr std::string_view kOrchestrator =
    R"({"agent":"ai-agent-orchestrator","phase":1,"address":"127.0.0.1:9"})";

TEST_F(RoutesTest, PutCreatesThenUpdates) {
  Response created = Call(Method::kPut, "/v1/agents/orch-1", kOrchestrator);
  EXPECT_EQ(created.status, 201);
  EXPECT_EQ(Json(created).at("status").as_string(), "healthy");
  EXPECT_EQ(Json(created).at("weight").as_int64(), 100);
  EXPECT_EQ(Call(Method::kPut, "/v1/agents/orch-1", kOrchestrator).status, 200);
  Response list = Call(Method::kGet, "/v1/agents?phase=1");
  EXPECT_EQ(Json(list).at("count").as_int64(), 1);
}

TEST_F(RoutesTest, InvalidBodyChangesNothing) {
  Response r = Call(Method::kPut, "/v1/agents/orch-1", R"({"agent":"x","phase":7})");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(store_.ops().empty());
  EXPECT_EQ(Call(Method::kGet, "/v1/agents/orch-1").status, 404);
}

TEST_F(RoutesTest, HeartbeatAnswersState) {
  ASSERT_EQ(Call(Method::kPut, "/v1/agents/orch-1", kOrchestrator).status, 201);
  Response hb = Call(Method::kPut, "/v1/agents/orch-1/heartbeat", R"({"cpu":0.5})");
  EXPECT_EQ(hb.status, 200);
  EXPECT_EQ(hb.body, R"({"status":"healthy"})");
  EXPECT_EQ(Json(Call(Method::kGet, "/v1/agents/orch-1")).at("heartbeats").as_int64(), 1);
}

TEST_F(RoutesTest, DeleteThenHeartbeatIsInstanceLeft) {
  ASSERT_EQ(Call(Method::kPut, "/v1/agents/orch-1", kOrchestrator).status, 201);
  Response gone = Call(Method::kDelete, "/v1/agents/orch-1");
  EXPECT_EQ(gone.status, 200);
  EXPECT_EQ(Json(gone).at("status").as_string(), "left");
  Response hb = Call(Method::kPut, "/v1/agents/orch-1/heartbeat");
  EXPECT_EQ(hb.status, 409);
  EXPECT_EQ(Json(hb).at("error").at("code").as_string(), "instance_left");
  EXPECT_EQ(Call(Method::kDelete, "/v1/agents/ghost").status, 404);
}

TEST_F(RoutesTest, HealthIs503WhenPhaseOneAgentUnhealthy) {
  ASSERT_EQ(Call(Method::kPut, "/v1/agents/orch-1", kOrchestrator).status, 201);
  EXPECT_EQ(Call(Method::kGet, "/health").status, 200);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(service_.RecordCheck("orch-1", false).ok());
  }
  Response health = Call(Method::kGet, "/health");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(Json(health).at("status").as_string(), "critical");
  EXPECT_EQ(Json(health).at("phases").at("1").at("unhealthy").as_int64(), 1);
  Response history = Call(Method::kGet, "/v1/agents/orch-1/history");
  EXPECT_GE(Json(history).at("transitions").as_array().size(), 2u);
}

TEST_F(RoutesTest, DebugAndMetricsEndpoints) {
  ASSERT_EQ(Call(Method::kPut, "/v1/agents/orch-1", kOrchestrator).status, 201);
  Response debug = Call(Method::kGet, "/debug/health");
  EXPECT_EQ(Json(debug).at("instances").as_array().size(), 1u);
  EXPECT_EQ(Json(debug).at("events").as_array().size(), 1u);
  Response metrics = Call(Method::kGet, "/metrics");
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("agentmesh_agents{phase=\"1\",state=\"healthy\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("agentmesh_health_phi{instance=\"orch-1\"}"), std::string::npos);
  EXPECT_EQ(Call(Method::kGet, "/debug/metrics").body.substr(0, 7), "# HELP ");
  EXPECT_EQ(Json(Call(Method::kGet, "/debug/events?limit=5")).at("count").as_int64(), 1);
  EXPECT_EQ(Call(Method::kGet, "/debug/events?limit=x").status, 400);
}

TEST_F(RoutesTest, ObservationFromPeer) {
  ASSERT_EQ(Call(Method::kPut, "/v1/agents/orch-1", kOrchestrator).status, 201);
  EXPECT_EQ(Call(Method::kPost, "/v1/agents/orch-1/observations",
                 R"({"observer":"peer-1","healthy":true})")
                .status,
            404);
  ASSERT_EQ(
      Call(Method::kPut, "/v1/agents/peer-1", R"({"agent":"ai-agent-tester","phase":2})").status,
      201);
  Response r = Call(Method::kPost, "/v1/agents/orch-1/observations",
                    R"({"observer":"peer-1","healthy":true})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json(r).at("status").as_string(), "healthy");
  Response self = Call(Method::kPost, "/v1/agents/orch-1/observations",
                       R"({"observer":"orch-1","healthy":true})");
  EXPECT_EQ(self.status, 400);
}

}  // namespace
}  // namespace agentmesh::server
