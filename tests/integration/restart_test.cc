// Durability of the real binary: an acknowledged registration (2xx) survives SIGKILL
// and SIGTERM, a deregistration stays in force, and the node keeps its id.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "integration/node_api.h"
#include "testing/node_process.h"

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using testing::CallJson;
using testing::Int;
using testing::JsonReply;
using testing::Str;
namespace json = boost::json;

// No health check during the test (its addresses are not real endpoints) and a
// heartbeat grace far longer than the test.
constexpr char kQuietPolicy[] = R"(node:
  tick_interval: 100ms
health:
  check_interval: 10m
failure_detection:
  heartbeat_interval: 10s
)";

constexpr int kWriters = 4;

// A spec that uses every field, different for each `i`.
json::object SpecFor(int i) {
  return json::object{
      {"agent", "agent-" + std::to_string(i % 20)},
      {"phase", 1 + i % 3},
      {"domain", "domain-" + std::to_string(i % 5)},
      {"capabilities", json::array{"cap-" + std::to_string(i % 7), "shared"}},
      {"address", "127.0.0.1:" + std::to_string(20000 + i)},
      {"weight", 1 + (i * 37) % 10000},
      {"metadata",
       json::object{{"index", std::to_string(i)}, {"zone", "z" + std::to_string(i % 4)}}},
  };
}

// The spec fields of an instance view, for comparison with what was registered.
json::object SpecOf(const json::value& view) {
  json::object out;
  for (const char* key :
       {"agent", "phase", "domain", "capabilities", "address", "weight", "metadata"}) {
    if (const json::value* v = view.as_object().if_contains(key)) {
      out[key] = *v;
    }
  }
  return out;
}

class RestartTest : public ::testing::Test {
 protected:
  void StartNode() {
    ASSERT_EQ(testing::StartNode(node_, dir_, kQuietPolicy), "");
    base_ = node_.base_url();
  }

  std::string NodeId() { return Str(CallJson(base_, "GET", "/health").body, "node_id"); }

  // Every instance the node lists, by id.
  std::map<std::string, json::value> Instances() {
    const JsonReply r = CallJson(base_, "GET", "/v1/agents");
    EXPECT_EQ(r.status, 200) << r.raw;
    std::map<std::string, json::value> out;
    if (r.body.is_object()) {
      for (const json::value& v : r.body.at("agents").as_array()) {
        out[Str(v, "id")] = v;
      }
    }
    return out;
  }

  testing::TempDir dir_;
  testing::NodeProcess node_;
  std::string base_;
};

TEST_F(RestartTest, AcknowledgedRegistrationsSurviveKill9) {
  StartNode();
  const std::string node_id = NodeId();
  ASSERT_FALSE(node_id.empty());
  constexpr int kInstances = 200;
  std::vector<std::thread> writers;
  std::vector<int> failures(kWriters, 0);
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = w; i < kInstances; i += kWriters) {
        const JsonReply r =
            CallJson(base_, "PUT", "/v1/agents/instance-" + std::to_string(i), SpecFor(i));
        if (r.status != 201) {
          ++failures[w];
        }
      }
    });
  }
  for (auto& t : writers) {
    t.join();
  }
  node_.Kill9();
  for (int w = 0; w < kWriters; ++w) {
    ASSERT_EQ(failures[w], 0) << "writer " << w << " had registrations refused";
  }

  StartNode();
  EXPECT_EQ(NodeId(), node_id);
  const std::map<std::string, json::value> restored = Instances();
  EXPECT_EQ(restored.size(), static_cast<std::size_t>(kInstances));
  for (int i = 0; i < kInstances; ++i) {
    const std::string id = "instance-" + std::to_string(i);
    auto it = restored.find(id);
    ASSERT_NE(it, restored.end()) << id << " was acknowledged but is gone after SIGKILL";
    EXPECT_EQ(json::serialize(SpecOf(it->second)), json::serialize(SpecFor(i))) << id;
    EXPECT_NE(Str(it->second, "status"), "left") << id;
  }
}

TEST_F(RestartTest, SigtermDuringRegistrationsExitsZeroAndKeepsEveryAcknowledged) {
  StartNode();
  const std::string node_id = NodeId();
  std::mutex mu;
  std::map<std::string, int> acknowledged;  // id -> spec index
  std::atomic<int> count{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = w; !stop.load(); i += kWriters) {
        const std::string id = "stream-" + std::to_string(i);
        const JsonReply r = CallJson(base_, "PUT", "/v1/agents/" + id, SpecFor(i), 5s);
        if (r.status < 200 || r.status >= 300) {
          return;  // the node is going away; later attempts would only fail too
        }
        std::lock_guard lock(mu);
        acknowledged[id] = i;
        ++count;
      }
    });
  }
  const bool streaming = testing::WaitFor([&] { return count.load() >= 100; }, 60s);
  const int exit_code = node_.Terminate();
  stop.store(true);
  for (auto& t : writers) {
    t.join();
  }
  ASSERT_TRUE(streaming) << "only " << count.load() << " registrations acknowledged";
  RecordProperty("acknowledged", count.load());
  EXPECT_EQ(exit_code, 0);

  StartNode();
  EXPECT_EQ(NodeId(), node_id);
  const std::map<std::string, json::value> restored = Instances();
  EXPECT_GE(restored.size(), acknowledged.size());
  for (const auto& [id, i] : acknowledged) {
    auto it = restored.find(id);
    ASSERT_NE(it, restored.end()) << id << " was acknowledged but is gone after SIGTERM";
    EXPECT_EQ(json::serialize(SpecOf(it->second)), json::serialize(SpecFor(i))) << id;
  }
}

TEST_F(RestartTest, DeregisteredInstancesStayGoneAfterRestart) {
  StartNode();
  constexpr int kInstances = 10;
  std::set<std::string> kept;
  std::set<std::string> removed;
  for (int i = 0; i < kInstances; ++i) {
    const std::string id = "instance-" + std::to_string(i);
    json::object spec = SpecFor(i);
    spec.erase("address");
    ASSERT_EQ(CallJson(base_, "PUT", "/v1/agents/" + id, spec).status, 201);
    (i % 2 == 0 ? kept : removed).insert(id);
  }
  for (const std::string& id : removed) {
    const JsonReply r = CallJson(base_, "DELETE", "/v1/agents/" + id);
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_EQ(Str(r.body, "status"), "left");
  }
  node_.Kill9();

  StartNode();
  const std::map<std::string, json::value> restored = Instances();
  for (const std::string& id : kept) {
    auto it = restored.find(id);
    ASSERT_NE(it, restored.end()) << id;
    EXPECT_EQ(Str(it->second, "status"), "healthy") << id;
  }
  for (const std::string& id : removed) {
    auto it = restored.find(id);
    if (it != restored.end()) {
      EXPECT_EQ(Str(it->second, "status"), "left") << id << " came back after a restart";
    }
    const JsonReply hb = CallJson(base_, "PUT", "/v1/agents/" + id + "/heartbeat", "");
    EXPECT_TRUE(hb.status == 409 || hb.status == 404) << id << ": " << hb.status << " " << hb.raw;
  }
  const JsonReply live = CallJson(base_, "GET", "/v1/agents?status=healthy");
  EXPECT_EQ(Int(live.body, "count"), static_cast<long long>(kept.size())) << live.raw;
}

}  // namespace
}  // namespace agentmesh
