#include "agentmesh/client/agent_client.h"

#include <algorithm>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
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

constexpr std::string_view kId = "coder-1";

// A node that knows just enough of api.md: register, heartbeat, observe, deregister.
class FakeNode {
 public:
  FakeNode() : server_([this](const RecordedRequest& r) { return Handle(r); }) {}

  std::string Url() const { return server_.Url(); }
  FakeHttpServer& server() { return server_; }

  // The next `n` registrations are answered 503.
  void FailRegistrations(int n) {
    std::lock_guard lock(mu_);
    failing_registrations_ = n;
  }
  void RejectRegistrations() {
    std::lock_guard lock(mu_);
    reject_registrations_ = true;
  }
  void FailHeartbeats(bool fail) {
    std::lock_guard lock(mu_);
    fail_heartbeats_ = fail;
  }
  // Drops every registration, as a node that lost its store would.
  void Forget() {
    std::lock_guard lock(mu_);
    known_.clear();
  }

 private:
  static FakeReply Error(int status, std::string code) {
    return {status, R"({"error":{"code":")" + code + R"(","message":"fake node says no"}})"};
  }

  FakeReply Handle(const RecordedRequest& r) {
    std::lock_guard lock(mu_);
    const std::string prefix = "/v1/agents/";
    std::string rest = r.target.substr(prefix.size());
    const std::size_t slash = rest.find('/');
    const std::string id = rest.substr(0, slash);
    const std::string sub = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (sub.empty() && r.method == "PUT") {
      if (reject_registrations_) {
        return Error(400, "invalid_field");
      }
      if (failing_registrations_ > 0) {
        --failing_registrations_;
        return Error(503, "store_unavailable");
      }
      known_.insert(id);
      return {201, R"({"id":")" + id + R"(","status":"healthy"})"};
    }
    if (sub.empty() && r.method == "DELETE") {
      return known_.erase(id) ? FakeReply{200, R"({"status":"left"})"}
                              : Error(404, "unknown_instance");
    }
    if (!known_.contains(id)) {
      return Error(404, "unknown_instance");
    }
    if (sub == "heartbeat") {
      return fail_heartbeats_ ? Error(500, "internal") : FakeReply{200, R"({"status":"healthy"})"};
    }
    return {200, R"({"status":"healthy"})"};
  }

  std::mutex mu_;
  std::set<std::string> known_;
  int failing_registrations_ = 0;
  bool reject_registrations_ = false;
  bool fail_heartbeats_ = false;
  FakeHttpServer server_;  // last: its thread calls Handle until it is destroyed
};

AgentClientOptions Options(const std::string& url) {
  AgentClientOptions options;
  options.node_url = url;
  options.spec.id = std::string(kId);
  options.spec.agent = "coder";
  options.spec.phase = 2;
  options.spec.domain = "development";
  options.spec.capabilities = {"code", "review"};
  options.spec.address = "127.0.0.1:9999";
  options.heartbeat_interval = 20ms;
  options.request_timeout = 1s;
  options.register_backoff = 1ms;
  options.register_backoff_max = 4ms;
  return options;
}

std::size_t Count(const Requests& requests, std::string_view method, std::string_view target) {
  return std::count_if(requests.begin(), requests.end(), [&](const RecordedRequest& r) {
    return r.method == method && r.target == target;
  });
}

const std::string kSelf = "/v1/agents/" + std::string(kId);
const std::string kHeartbeat = kSelf + "/heartbeat";

TEST(AgentClientTest, RegisterSendsSpecAndMarksRegistered) {
  FakeNode node;
  AgentClient client(Options(node.Url()));

  ASSERT_TRUE(client.Register().ok());

  EXPECT_TRUE(client.registered());
  auto requests = node.server().Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].target, kSelf);
  auto body = boost::json::parse(requests[0].body).as_object();
  EXPECT_EQ(body.at("agent").as_string(), "coder");
  EXPECT_EQ(body.at("phase").as_int64(), 2);
  EXPECT_EQ(body.at("address").as_string(), "127.0.0.1:9999");
  EXPECT_EQ(body.at("capabilities").as_array().size(), 2u);
  EXPECT_EQ(client.Stats().registrations, 1u);
}

TEST(AgentClientTest, RegisterRetriesWhileNodeAnswers503) {
  FakeNode node;
  node.FailRegistrations(2);
  AgentClient client(Options(node.Url()));

  ASSERT_TRUE(client.Register().ok());

  EXPECT_EQ(Count(node.server().Requests(), "PUT", kSelf), 3u);
}

TEST(AgentClientTest, RegisterGivesUpAfterAttemptsWhenNodeIsDown) {
  std::string url;
  {
    FakeHttpServer closed;
    url = closed.Url();
  }
  AgentClientOptions options = Options(url);
  options.register_attempts = 3;
  AgentClient client(options);

  core::Status status = client.Register();

  EXPECT_EQ(status.code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(status.reason(), "connect_failed");
  EXPECT_FALSE(client.registered());
}

TEST(AgentClientTest, RegisterDoesNotRetryARejectedSpec) {
  FakeNode node;
  node.RejectRegistrations();
  AgentClient client(Options(node.Url()));

  core::Status status = client.Register();

  EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.reason(), "invalid_field");
  EXPECT_EQ(node.server().Requests().size(), 1u);
}

TEST(AgentClientTest, InvalidOptionsFailWithoutContactingTheNode) {
  FakeNode node;
  AgentClientOptions options = Options(node.Url());
  options.spec.id = "bad id!";
  AgentClient client(options);

  EXPECT_EQ(client.Register().reason(), "invalid_id");
  EXPECT_TRUE(node.server().Requests().empty());
  options.spec.id = "ok-1";
  options.spec.phase = 4;
  EXPECT_EQ(Validate(options).reason(), "phase_out_of_range");
  options.spec.phase = 1;
  options.node_url = "localhost:7700";
  EXPECT_EQ(Validate(options).reason(), "invalid_url");
}

TEST(AgentClientTest, HeartbeatsRepeatOnOneConnectionWithLoadSamples) {
  FakeNode node;
  AgentClientOptions options = Options(node.Url());
  options.load = [] { return health::LoadSample{0.25, 1.5, 3}; };
  AgentClient client(options);
  ASSERT_TRUE(client.Register().ok());

  client.StartHeartbeats();

  ASSERT_TRUE(
      node.server().WaitFor([](const Requests& r) { return Count(r, "PUT", kHeartbeat) >= 3; }));
  client.StopHeartbeats();
  std::set<int> connections;
  for (const auto& r : node.server().Requests()) {
    if (r.target == kHeartbeat) {
      connections.insert(r.connection);
      auto load = boost::json::parse(r.body).as_object();
      EXPECT_DOUBLE_EQ(load.at("cpu").as_double(), 0.25);
      EXPECT_DOUBLE_EQ(load.at("memory").as_double(), 1.0);  // clamped
      EXPECT_DOUBLE_EQ(load.at("queue_depth").as_double(), 3.0);
    }
  }
  EXPECT_EQ(connections.size(), 1u);
  EXPECT_GE(client.Stats().heartbeats_sent, 2u);
  EXPECT_EQ(client.Stats().last_status, "healthy");
}

TEST(AgentClientTest, ReRegistersWhenTheNodeForgetsTheInstance) {
  FakeNode node;
  AgentClient client(Options(node.Url()));
  ASSERT_TRUE(client.Register().ok());
  client.StartHeartbeats();
  ASSERT_TRUE(node.server().WaitFor([](const Requests& r) { return Count(r, "PUT", kHeartbeat); }));

  node.Forget();

  ASSERT_TRUE(node.server().WaitFor([](const Requests& r) { return Count(r, "PUT", kSelf) >= 2; }));
  ASSERT_TRUE(node.server().WaitFor([&](const Requests&) { return client.registered(); }));
  client.StopHeartbeats();
  AgentClientStats stats = client.Stats();
  EXPECT_EQ(stats.reregistrations, 1u);
  EXPECT_EQ(stats.registrations, 2u);
  EXPECT_GE(stats.heartbeats_failed, 1u);
}

TEST(AgentClientTest, FailedHeartbeatsAreCountedAndTheLoopKeepsGoing) {
  FakeNode node;
  node.FailHeartbeats(true);
  AgentClient client(Options(node.Url()));
  ASSERT_TRUE(client.Register().ok());

  client.StartHeartbeats();

  ASSERT_TRUE(
      node.server().WaitFor([](const Requests& r) { return Count(r, "PUT", kHeartbeat) >= 3; }));
  node.FailHeartbeats(false);
  ASSERT_TRUE(
      node.server().WaitFor([&](const Requests&) { return client.Stats().heartbeats_sent >= 1; }));
  client.StopHeartbeats();
  EXPECT_GE(client.Stats().heartbeats_failed, 2u);
}

TEST(AgentClientTest, StopHeartbeatsEndsTheLoop) {
  FakeNode node;
  AgentClient client(Options(node.Url()));
  ASSERT_TRUE(client.Register().ok());
  client.StartHeartbeats();
  ASSERT_TRUE(node.server().WaitFor([](const Requests& r) { return Count(r, "PUT", kHeartbeat); }));

  client.StopHeartbeats();
  // Runs on the client's strand after the stop, so the loop has ended when it returns.
  ASSERT_TRUE(client.ReportObservation("coder-1", true).ok());

  EXPECT_FALSE(client.heartbeating());
  const std::size_t before = Count(node.server().Requests(), "PUT", kHeartbeat);
  EXPECT_FALSE(node.server().WaitFor(
      [&](const Requests& r) { return Count(r, "PUT", kHeartbeat) > before; }, 100ms));
}

TEST(AgentClientTest, ReportObservationPostsObserverAndVerdict) {
  FakeNode node;
  AgentClient client(Options(node.Url()));
  ASSERT_TRUE(client.Register().ok());

  ASSERT_TRUE(client.ReportObservation("coder-1", false).ok());
  EXPECT_EQ(client.ReportObservation("ghost-1", true).reason(), "unknown_instance");
  EXPECT_EQ(client.ReportObservation("../etc", true).reason(), "invalid_peer_id");

  auto requests = node.server().Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].target, kSelf + "/observations");
  auto body = boost::json::parse(requests[1].body).as_object();
  EXPECT_EQ(body.at("observer").as_string(), kId);
  EXPECT_FALSE(body.at("healthy").as_bool());
  EXPECT_EQ(client.Stats().observations_sent, 1u);
}

TEST(AgentClientTest, DeregisterStopsHeartbeatsAndForgetsRegistration) {
  FakeNode node;
  AgentClient client(Options(node.Url()));
  ASSERT_TRUE(client.Register().ok());
  client.StartHeartbeats();

  ASSERT_TRUE(client.Deregister().ok());

  EXPECT_FALSE(client.registered());
  EXPECT_FALSE(client.heartbeating());
  EXPECT_EQ(Count(node.server().Requests(), "DELETE", kSelf), 1u);
}

TEST(AgentClientTest, DestructorDeregistersWhenStillRegistered) {
  FakeNode node;
  {
    AgentClient client(Options(node.Url()));
    ASSERT_TRUE(client.Register().ok());
    client.StartHeartbeats();
  }

  EXPECT_EQ(Count(node.server().Requests(), "DELETE", kSelf), 1u);
}

TEST(AgentClientTest, RunsOnAProvidedExecutor) {
  FakeNode node;
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  std::thread runner([&] { ioc.run(); });
  {
    AgentClient client(Options(node.Url()), ioc.get_executor());
    ASSERT_TRUE(client.Register().ok());
    client.StartHeartbeats();
    ASSERT_TRUE(
        node.server().WaitFor([](const Requests& r) { return Count(r, "PUT", kHeartbeat); }));
  }
  work.reset();
  runner.join();

  EXPECT_EQ(Count(node.server().Requests(), "DELETE", kSelf), 1u);
}

}  // namespace
}  // namespace agentmesh::client
