// The SutazAI fleet against the real binary: registration, heartbeats with load,
// filters and /health over 69 agents; health consensus with real endpoints that die
// and come back; heartbeat timeouts; /metrics; the agent SDK end to end.
#include "agentmesh/config/fleet.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "agentmesh/client/agent_client.h"

#include "integration/node_api.h"
#include "testing/fake_agents.h"
#include "testing/node_process.h"

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using testing::CallJson;
using testing::FakeAgents;
using testing::Int;
using testing::JsonReply;
using testing::Str;
using testing::WaitFor;
namespace json = boost::json;

// Heartbeats are expected every 10 s: one heartbeat keeps an agent healthy for the test.
constexpr char kSteadyPolicy[] = R"(node:
  tick_interval: 100ms
failure_detection:
  heartbeat_interval: 10s
)";

// Checks every 200 ms; heartbeats every 100 ms, three missed ones make an agent unhealthy.
constexpr char kFastPolicy[] = R"(node:
  tick_interval: 50ms
health:
  check_interval: 200ms
  check_timeout: 100ms
  failure_threshold: 3
  recovery_confirmations: 2
failure_detection:
  heartbeat_interval: 100ms
  missed_heartbeats: 3
  acceptable_heartbeat_pause: 0s
  min_std_deviation: 10ms
)";

constexpr auto kCheckInterval = 200ms;

class FleetTest : public ::testing::Test {
 protected:
  void StartNode(const std::string& policy) {
    ASSERT_EQ(testing::StartNode(node_, dir_, policy), "");
    base_ = node_.base_url();
  }

  JsonReply Get(const std::string& target) { return CallJson(base_, "GET", target); }

  // What a failed wait reports: the instance as the node sees it and the node's log tail.
  std::string Diagnose(const std::string& id) {
    std::ifstream in(dir_.Sub("node.log"));
    std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return "\n" + id + ": " + Get("/v1/agents/" + id).raw +
           "\nhistory: " + Get("/v1/agents/" + id + "/history").raw + "\nnode log tail:\n" +
           log.substr(log.size() > 3000 ? log.size() - 3000 : 0);
  }

  std::string Status(const std::string& id) { return Str(Get("/v1/agents/" + id).body, "status"); }

  void Register(const std::string& id, const json::object& spec) {
    const JsonReply r = CallJson(base_, "PUT", "/v1/agents/" + id, spec);
    ASSERT_EQ(r.status, 201) << id << ": " << r.raw;
  }

  // The ids in a GET /v1/agents answer, after checking its count.
  std::vector<std::string> ListIds(const std::string& query) {
    const JsonReply r = Get("/v1/agents" + query);
    std::vector<std::string> ids;
    if (r.status != 200 || !r.body.is_object()) {
      ADD_FAILURE() << query << ": " << r.status << " " << r.raw;
      return ids;
    }
    for (const json::value& a : r.body.at("agents").as_array()) {
      ids.push_back(Str(a, "id"));
    }
    EXPECT_EQ(Int(r.body, "count"), static_cast<long long>(ids.size())) << query;
    return ids;
  }

  std::vector<json::value> History(const std::string& id) {
    const JsonReply r = Get("/v1/agents/" + id + "/history");
    EXPECT_EQ(r.status, 200) << r.raw;
    if (!r.body.is_object()) {
      return {};
    }
    const json::array& t = r.body.at("transitions").as_array();
    return {t.begin(), t.end()};
  }

  testing::TempDir dir_;
  testing::NodeProcess node_;
  std::string base_;
};

std::set<std::string> Sorted(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

std::string Transition(const json::value& t) {
  return Str(t, "from") + "->" + Str(t, "to") + " " + Str(t, "reason");
}

json::object Spec(const std::string& agent, int phase, const std::string& domain,
                  const std::string& address = "") {
  json::object spec{{"agent", agent}, {"phase", phase}, {"domain", domain}};
  if (!address.empty()) {
    spec["address"] = address;
  }
  return spec;
}

TEST_F(FleetTest, SutazaiFleetRegistersHeartbeatsAndFilters) {
  StartNode(kSteadyPolicy);
  auto fleet =
      config::LoadFleetFile(std::string(AGENTMESH_SOURCE_DIR) + "/examples/sutazai/fleet.yaml");
  ASSERT_TRUE(fleet.has_value()) << fleet.error().ToString();
  ASSERT_EQ(fleet->agents.size(), 69u);

  std::map<std::string, const config::FleetAgent*> by_id;
  std::map<std::string, std::vector<std::string>> by_phase, by_domain, by_capability;
  int i = 0;
  for (const config::FleetAgent& a : fleet->agents) {
    const std::string id = a.name + "-1";
    by_id[id] = &a;
    by_phase[std::to_string(a.phase)].push_back(id);
    by_domain[a.domain].push_back(id);
    json::object spec = Spec(a.name, a.phase, a.domain);
    spec["capabilities"] = json::value_from(a.capabilities);
    spec["weight"] = 50 + i;
    spec["metadata"] = json::object{{"role", a.role.empty() ? "agent" : a.role}};
    for (const auto& c : a.capabilities) {
      by_capability[c].push_back(id);
    }
    Register(id, spec);
    const json::object load{
        {"cpu", (i % 10) / 10.0}, {"memory", (i % 7) / 10.0}, {"queue_depth", i}};
    const JsonReply hb = CallJson(base_, "PUT", "/v1/agents/" + id + "/heartbeat", load);
    ASSERT_EQ(hb.status, 200) << hb.raw;
    EXPECT_EQ(Str(hb.body, "status"), "healthy");
    ++i;
  }

  const JsonReply all = Get("/v1/agents");
  ASSERT_EQ(all.status, 200) << all.raw;
  ASSERT_EQ(Int(all.body, "count"), 69);
  const json::array& agents = all.body.at("agents").as_array();
  ASSERT_EQ(agents.size(), 69u);
  std::vector<std::string> listed;
  for (const json::value& v : agents) {
    const std::string id = Str(v, "id");
    listed.push_back(id);
    ASSERT_TRUE(by_id.contains(id)) << id;
    const config::FleetAgent& a = *by_id[id];
    const int index = static_cast<int>(&a - fleet->agents.data());
    EXPECT_EQ(Str(v, "status"), "healthy") << id;
    EXPECT_EQ(Str(v, "agent"), a.name);
    EXPECT_EQ(Int(v, "phase"), a.phase) << id;
    EXPECT_EQ(Str(v, "domain"), a.domain) << id;
    EXPECT_EQ(Int(v, "weight"), 50 + index) << id;
    std::vector<std::string> caps;
    for (const json::value& c : v.at("capabilities").as_array()) {
      caps.emplace_back(c.as_string());
    }
    EXPECT_EQ(Sorted(caps), Sorted(a.capabilities)) << id;
    EXPECT_EQ(Str(v.at("metadata"), "role"), a.role.empty() ? "agent" : a.role) << id;
    EXPECT_EQ(Int(v, "heartbeats"), 1) << id;
    ASSERT_TRUE(v.at("load").is_object()) << id;
    EXPECT_DOUBLE_EQ(v.at("load").at("cpu").to_number<double>(), (index % 10) / 10.0) << id;
    EXPECT_DOUBLE_EQ(v.at("load").at("queue_depth").to_number<double>(), index) << id;
  }
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));

  for (const auto& [phase, ids] : by_phase) {
    EXPECT_EQ(Sorted(ListIds("?phase=" + phase)), Sorted(ids)) << "phase " << phase;
  }
  for (const auto& [domain, ids] : by_domain) {
    EXPECT_EQ(Sorted(ListIds("?domain=" + domain)), Sorted(ids)) << "domain " << domain;
  }
  for (const auto& [capability, ids] : by_capability) {
    EXPECT_EQ(Sorted(ListIds("?capability=" + capability)), Sorted(ids)) << capability;
  }
  EXPECT_EQ(ListIds("?status=healthy").size(), 69u);
  EXPECT_TRUE(ListIds("?status=unhealthy").empty());
  EXPECT_TRUE(ListIds("?status=suspect").empty());
  EXPECT_EQ(ListIds("?agent=ai-agent-orchestrator"),
            std::vector<std::string>{"ai-agent-orchestrator-1"});
  std::vector<std::string> phase1_orchestration;
  for (const auto& id : by_domain["orchestration"]) {
    if (by_id[id]->phase == 1) {
      phase1_orchestration.push_back(id);
    }
  }
  EXPECT_EQ(Sorted(ListIds("?phase=1&domain=orchestration")), Sorted(phase1_orchestration));

  const JsonReply health = Get("/health");
  ASSERT_EQ(health.status, 200) << health.raw;
  EXPECT_EQ(Str(health.body, "status"), "ok");
  long long total = 0;
  for (const auto& [phase, ids] : by_phase) {
    const json::value& counts = health.body.at("phases").at(phase);
    EXPECT_EQ(Int(counts, "total"), static_cast<long long>(ids.size())) << "phase " << phase;
    EXPECT_EQ(Int(counts, "healthy"), static_cast<long long>(ids.size())) << "phase " << phase;
    total += Int(counts, "total");
  }
  EXPECT_EQ(total, 69);
}

TEST_F(FleetTest, DeadEndpointTurnsUnhealthyAndRecoveryNeedsTwoHealthyObservers) {
  StartNode(kFastPolicy);
  FakeAgents fakes;
  const std::string target = "ai-agent-orchestrator-1";
  const std::string peer = "ai-agent-orchestrator-2";
  const std::string sick = "testing-qa-validator-1";
  Register(target, Spec("ai-agent-orchestrator", 1, "orchestration", fakes.Add(target)));
  Register(peer, Spec("ai-agent-orchestrator", 1, "orchestration", fakes.Add(peer)));
  Register(sick, Spec("testing-qa-validator", 2, "quality", fakes.Add(sick)));
  ASSERT_TRUE(WaitFor([&] { return fakes.HealthRequests(target) >= 2; }, 10s));
  const JsonReply ok = Get("/health");
  ASSERT_EQ(ok.status, 200) << ok.raw;
  const std::string observer = "node:" + Str(ok.body, "node_id");

  fakes.SetMode(target, FakeAgents::Mode::kDead);
  fakes.SetMode(sick, FakeAgents::Mode::kDead);
  ASSERT_TRUE(WaitFor([&] { return Status(target) == "unhealthy"; }, 15s)) << Diagnose(target);
  std::vector<json::value> history = History(target);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(Transition(history[0]), "healthy->suspect check_failed");
  EXPECT_EQ(Transition(history[1]), "suspect->unhealthy checks_failed");
  // Three failed checks span at least one full check interval (round 1 and round 3
  // are separated by at least one interval even when a late round is caught up).
  const long long gap = testing::TimestampMillis(Str(history[1], "at")) -
                        testing::TimestampMillis(Str(history[0], "at"));
  EXPECT_GE(gap, (kCheckInterval - 20ms).count());
  EXPECT_GE(Int(Get("/v1/agents/" + target).body, "consecutive_failures"), 3);

  const JsonReply critical = Get("/health");
  EXPECT_EQ(critical.status, 503) << critical.raw;
  EXPECT_EQ(Str(critical.body, "status"), "critical");
  EXPECT_FALSE(critical.body.at("reasons").as_array().empty());
  EXPECT_EQ(Int(critical.body.at("phases").at("1"), "unhealthy"), 1);
  ASSERT_TRUE(WaitFor([&] { return Status(sick) == "unhealthy"; }, 15s)) << Diagnose(sick);

  fakes.SetMode(target, FakeAgents::Mode::kOk);
  ASSERT_TRUE(WaitFor([&] { return Status(target) == "recovering"; }, 15s)) << Diagnose(target);
  const json::array only_node{json::value(observer)};
  EXPECT_EQ(Get("/v1/agents/" + target).body.at("confirmations").as_array(), only_node);
  // More successful checks by the node alone do not finish the recovery.
  const int seen = fakes.HealthRequests(target);
  ASSERT_TRUE(WaitFor([&] { return fakes.HealthRequests(target) >= seen + 4; }, 15s));
  const JsonReply still = Get("/v1/agents/" + target);
  EXPECT_EQ(Str(still.body, "status"), "recovering");
  EXPECT_EQ(still.body.at("confirmations").as_array(), only_node);

  const std::string observations = "/v1/agents/" + target + "/observations";
  JsonReply r =
      CallJson(base_, "POST", observations, json::object{{"observer", sick}, {"healthy", true}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(Str(r.body, "status"), "recovering") << "an unhealthy observer must not count";
  r = CallJson(base_, "POST", observations, json::object{{"observer", peer}, {"healthy", true}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(Str(r.body, "status"), "healthy");
  history = History(target);
  ASSERT_GE(history.size(), 4u);
  EXPECT_EQ(Transition(history[2]), "unhealthy->recovering check_passed");
  EXPECT_EQ(Transition(history.back()), "recovering->healthy recovery_confirmed");
}

// Heartbeats every 50 ms until five in a row were answered "healthy"; false when the
// agent itself fell behind (a loaded machine) and the node rightly failed it.
bool HeartbeatOnTime(const std::string& base, const std::string& id) {
  int healthy_in_a_row = 0;
  for (int i = 0; i < 20 && healthy_in_a_row < 5; ++i) {
    std::this_thread::sleep_for(50ms);  // the agent's own pace, not a wait for the node
    const JsonReply r = CallJson(base, "PUT", "/v1/agents/" + id + "/heartbeat", R"({"cpu":0.2})");
    healthy_in_a_row = Str(r.body, "status") == "healthy" ? healthy_in_a_row + 1 : 0;
    if (Str(r.body, "status") == "recovering") {
      return false;  // it missed the deadline; only observers could confirm it again
    }
  }
  return healthy_in_a_row == 5;
}

TEST_F(FleetTest, SilentAgentTurnsUnhealthyAfterMissedHeartbeats) {
  StartNode(kFastPolicy);
  std::string id;
  for (int attempt = 1; attempt <= 5 && id.empty(); ++attempt) {
    const std::string candidate = "data-pipeline-engineer-" + std::to_string(attempt);
    Register(candidate, Spec("data-pipeline-engineer", 3, "data"));
    if (HeartbeatOnTime(base_, candidate)) {
      id = candidate;
    } else {
      ASSERT_EQ(CallJson(base_, "DELETE", "/v1/agents/" + candidate).status, 200);
    }
  }
  ASSERT_FALSE(id.empty()) << "the test agent could not keep a 100 ms heartbeat in 5 attempts";
  const std::string heartbeat = "/v1/agents/" + id + "/heartbeat";
  const long long last_heartbeat =
      testing::TimestampMillis(Str(Get("/v1/agents/" + id).body, "last_heartbeat"));

  ASSERT_TRUE(WaitFor([&] { return Status(id) == "unhealthy"; }, 10s)) << Diagnose(id);
  const std::vector<json::value> history = History(id);
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(Str(history.back(), "to"), "unhealthy");
  EXPECT_EQ(Str(history.back(), "reason"), "heartbeat_timeout");
  for (const json::value& t : history) {
    if (Str(t, "to") == "suspect") {
      EXPECT_EQ(Str(t, "reason"), "phi_exceeded");
    }
  }
  // Not before missed_heartbeats x heartbeat_interval (3 x 100 ms) of silence.
  EXPECT_GE(testing::TimestampMillis(Str(history.back(), "at")) - last_heartbeat, 290);
  EXPECT_EQ(Int(Get("/health").body.at("phases").at("3"), "unhealthy"), 1);

  const JsonReply back = CallJson(base_, "PUT", heartbeat, "");
  ASSERT_EQ(back.status, 200) << back.raw;
  EXPECT_EQ(Str(back.body, "status"), "recovering");
}

TEST_F(FleetTest, MetricsExposeAgentsByPhaseAndStateAndRequestLatency) {
  StartNode(kSteadyPolicy);
  Register("ai-agent-orchestrator-1", Spec("ai-agent-orchestrator", 1, "orchestration"));
  Register("data-pipeline-engineer-1", Spec("data-pipeline-engineer", 3, "data"));
  ASSERT_EQ(Get("/v1/agents").status, 200);
  const auto metrics = client::FetchBlocking(base_, client::HttpRequest("GET", "/metrics"), 10s);
  ASSERT_TRUE(metrics.has_value()) << metrics.error().ToString();
  ASSERT_EQ(metrics->status, 200);
  const std::string& text = metrics->body;
  EXPECT_NE(text.find("# TYPE agentmesh_agents gauge"), std::string::npos);
  EXPECT_NE(text.find(R"(agentmesh_agents{phase="1",state="healthy"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(agentmesh_agents{phase="3",state="healthy"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(agentmesh_agents{phase="2",state="healthy"} 0)"), std::string::npos);
  EXPECT_NE(text.find("# TYPE agentmesh_server_request_duration_seconds histogram"),
            std::string::npos);
  EXPECT_NE(text.find("agentmesh_server_request_duration_seconds_bucket{"), std::string::npos);
  EXPECT_NE(text.find(R"(le="+Inf"})"), std::string::npos);
  EXPECT_NE(text.find("agentmesh_server_request_duration_seconds_count{"), std::string::npos);
  EXPECT_NE(text.find("agentmesh_server_requests_total{"), std::string::npos);

  const std::string promtool = testing::FindOnPath("promtool");
  if (promtool.empty()) {
    GTEST_SKIP() << "promtool is not on PATH";
  }
  const std::string file = testing::WriteFile(dir_.Sub("metrics.txt"), text);
  const testing::CommandResult check = testing::RunCommand(
      {"/bin/sh", "-c", "'" + promtool + "' check metrics < '" + file + "'"}, 30s);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST_F(FleetTest, AgentClientRegistersHeartbeatsAndLeavesOnDestruction) {
  StartNode(kSteadyPolicy);
  client::AgentClientOptions options;
  options.node_url = base_;
  options.spec.id = "sdk-agent-1";
  options.spec.agent = "sdk-agent";
  options.spec.phase = 2;
  options.spec.domain = "testing";
  options.spec.capabilities = {"load-testing", "smoke-testing"};
  options.spec.metadata = {{"version", "1.2.3"}};
  options.heartbeat_interval = 100ms;
  options.load = [] { return health::LoadSample{.cpu = 0.25, .memory = 0.5, .queue_depth = 3}; };
  {
    client::AgentClient agent(options);
    ASSERT_TRUE(agent.Register().ok());
    agent.StartHeartbeats();
    ASSERT_TRUE(
        WaitFor([&] { return Int(Get("/v1/agents/sdk-agent-1").body, "heartbeats") >= 3; }, 10s));
    const json::value view = Get("/v1/agents/sdk-agent-1").body;
    EXPECT_EQ(Str(view, "status"), "healthy");
    EXPECT_EQ(Str(view, "agent"), "sdk-agent");
    EXPECT_EQ(Int(view, "phase"), 2);
    EXPECT_EQ(Str(view.at("metadata"), "version"), "1.2.3");
    EXPECT_DOUBLE_EQ(view.at("load").at("cpu").to_number<double>(), 0.25);
    EXPECT_DOUBLE_EQ(view.at("load").at("queue_depth").to_number<double>(), 3);
    EXPECT_EQ(agent.Stats().last_status, "healthy");
  }
  EXPECT_EQ(Status("sdk-agent-1"), "left");
  const JsonReply late = CallJson(base_, "PUT", "/v1/agents/sdk-agent-1/heartbeat", "");
  EXPECT_EQ(late.status, 409) << late.raw;
}

}  // namespace
}  // namespace agentmesh
