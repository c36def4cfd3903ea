#include "agentmesh/config/policy.h"

#include <chrono>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace agentmesh::config {
namespace {

using namespace std::chrono_literals;

const std::string kSutazaiPath = std::string(AGENTMESH_SOURCE_DIR) + "/policies/sutazai.yaml";

// Collects the path of every leaf (scalar or list) under `node`.
void CollectLeafPaths(const YAML::Node& node, const std::string& prefix,
                      std::set<std::string>& out) {
  if (!node.IsMap()) {
    out.insert(prefix);
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key = it->first.as<std::string>();
    CollectLeafPaths(it->second, prefix.empty() ? key : prefix + "." + key, out);
  }
}

std::set<std::string> LeafPaths(const YAML::Node& root) {
  std::set<std::string> paths;
  CollectLeafPaths(root, "", paths);
  return paths;
}

TEST(PolicyTest, ShippedSutazaiFileEqualsCompiledDefaults) {
  core::Result<Policy> policy = LoadPolicyFile(kSutazaiPath);
  ASSERT_TRUE(policy.has_value()) << policy.error().message();
  EXPECT_TRUE(*policy == DefaultPolicy()) << "sutazai.yaml differs from the defaults; as parsed:\n"
                                          << DumpPolicy(*policy);
}

TEST(PolicyTest, ShippedSutazaiFileNamesEveryKey) {
  std::set<std::string> in_file = LeafPaths(YAML::LoadFile(kSutazaiPath));
  std::set<std::string> in_schema = LeafPaths(YAML::Load(DumpPolicy(DefaultPolicy())));
  EXPECT_EQ(in_file, in_schema);
  EXPECT_GT(in_schema.size(), 140u);
}

TEST(PolicyTest, ShippedSutazaiFileCommentsEveryKey) {
  std::ifstream in(kSutazaiPath);
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    std::size_t colon = line.find(':');
    bool is_key = !line.empty() && line[0] != '#' && colon != std::string::npos;
    bool opens_group = is_key && line.find_first_not_of(' ', colon + 1) == std::string::npos;
    if (is_key && !opens_group) {
      EXPECT_NE(line.find('#', colon), std::string::npos)
          << "line " << line_number << " has no comment citing its rule: " << line;
    }
  }
  EXPECT_GT(line_number, 150);
}

TEST(PolicyTest, DefaultsMatchTheRules) {
  Policy p = DefaultPolicy();
  EXPECT_EQ(p.consensus.election_backoff_initial, 2s);
  EXPECT_EQ(p.consensus.election_backoff_max, 30s);
  EXPECT_EQ(p.consensus.session_ttl, 30s);
  EXPECT_EQ(p.quorum.min_phase1_agents, 3);
  EXPECT_DOUBLE_EQ(p.quorum.system_change_majority, 2.0 / 3.0);
  EXPECT_EQ(p.quorum.security_approver, "security-pentesting-specialist");
  EXPECT_EQ(p.health.check_interval, 10s);
  EXPECT_EQ(p.partition.heartbeat_timeout, 15s);
  EXPECT_EQ(p.circuit_breaker.failure_threshold, 5);
  EXPECT_EQ(p.transactions.event_retention, 720h);
  EXPECT_EQ(p.cache.l1.size_bytes, 256u << 20);
  EXPECT_EQ(p.cache.l2.size_bytes, 16ull << 30);
  EXPECT_EQ(p.cache.warming.scheduled_at, (TimeOfDay{3, 0}));
  EXPECT_EQ(p.load_balancing.virtual_nodes, 150);
  EXPECT_EQ(p.traffic.retry_on, (std::vector<int>{500, 502, 503}));
  EXPECT_EQ(p.failure_detection.phi_threshold, 8.0);
  EXPECT_EQ(p.sla.latency.p99, 2s);
  EXPECT_EQ(p.node.max_body_bytes, 1048576u);
}

TEST(PolicyTest, DumpThenParseGivesTheSamePolicy) {
  Policy p = DefaultPolicy();
  p.node.id = "node-a";
  p.node.listen = "0.0.0.0:0";
  p.node.data_dir = "/var/lib/\"agent\"\\mesh\n\t";
  p.consensus.election_backoff_multiplier = 1.5;
  p.quorum.system_change_majority = 0.75;
  p.health.check_timeout = 1500ms;
  p.health.availability_floor.phase2 = 0.6;
  p.consistency.levels.metrics = ConsistencyLevel::kStrong;
  p.consistency.conflicts.status = ConflictStrategy::kManual;
  p.locks.auto_renewal = false;
  p.event_bus.read_block = 250ms;
  p.cache.l1.size_bytes = 1000;
  p.cache.l3.size_bytes = 3ull << 40;
  p.cache.warming.scheduled_at = {23, 45};
  p.load_balancing.cpu_weight = 0.5;
  p.load_balancing.queue_weight = 0.2;
  p.load_balancing.stateful_algorithm = LoadBalancingAlgorithm::kLeastConnections;
  p.traffic.retry_on = {429, 503};
  p.traffic.retry_backoff = Backoff::kConstant;
  p.service_mesh.correlation_header = "X-Request-Id";
  p.tracing.sampling_rate = 1.0 / 3.0;
  p.sla.latency.p50 = 1500us;

  core::Result<Policy> parsed = ParsePolicy(DumpPolicy(p), "dump.yaml");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  EXPECT_TRUE(*parsed == p) << DumpPolicy(*parsed);
}

TEST(PolicyTest, EmptyDocumentGivesDefaults) {
  core::Result<Policy> parsed = ParsePolicy("", "empty.yaml");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  EXPECT_TRUE(*parsed == DefaultPolicy());
}

TEST(PolicyTest, PartialFileKeepsDefaultsForMissingKeys) {
  core::Result<Policy> parsed =
      ParsePolicy("circuit_breaker:\n  failure_threshold: 7\nhealth:\n", "partial.yaml");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  Policy expected = DefaultPolicy();
  expected.circuit_breaker.failure_threshold = 7;
  EXPECT_TRUE(*parsed == expected);
}

TEST(PolicyTest, AcceptsRatiosDurationFormsAndSizeUnits) {
  core::Result<Policy> parsed = ParsePolicy(
      "quorum:\n  system_change_majority: 3/4\n"
      "consensus:\n  barrier_ttl: 1m30s\n"
      "cache:\n  l1:\n    size: 100MB\n  l2:\n    size: 1073741824\n",
      "units.yaml");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  EXPECT_DOUBLE_EQ(parsed->quorum.system_change_majority, 0.75);
  EXPECT_EQ(parsed->consensus.barrier_ttl, 90s);
  EXPECT_EQ(parsed->cache.l1.size_bytes, 100'000'000u);
  EXPECT_EQ(parsed->cache.l2.size_bytes, 1ull << 30);
}

TEST(PolicyTest, SelectsTheEtcdCoordinationBackend) {
  core::Result<Policy> parsed = ParsePolicy(
      "storage:\n  coordination:\n    backend: etcd\n"
      "    endpoints: [\"http://10.0.0.1:2379\", \"http://10.0.0.2:2379\"]\n"
      "    prefix: /fleet-a\n",
      "etcd.yaml");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
  EXPECT_EQ(parsed->storage.coordination, CoordinationBackend::kEtcd);
  EXPECT_EQ(parsed->storage.etcd_endpoints,
            (std::vector<std::string>{"http://10.0.0.1:2379", "http://10.0.0.2:2379"}));
  EXPECT_EQ(parsed->storage.etcd_prefix, "/fleet-a");
  EXPECT_EQ(parsed->storage.etcd_request_timeout, 5s);
}

TEST(PolicyTest, MissingFileIsNotFound) {
  core::Result<Policy> parsed = LoadPolicyFile("/nonexistent/agentmesh/policy.yaml");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code(), core::StatusCode::kNotFound);
  EXPECT_EQ(parsed.error().reason(), "policy_file_unreadable");
}

TEST(PolicyTest, MapsHealthAndFailureDetectionOntoMembershipOptions) {
  Policy p = DefaultPolicy();
  p.failure_detection.phi_threshold = 10;
  p.failure_detection.window_size = 500;
  p.failure_detection.heartbeat_interval = 2s;
  p.failure_detection.missed_heartbeats = 4;
  p.health.failure_threshold = 6;
  p.health.availability_floor.phase3 = 0.25;

  health::MembershipOptions o = ToMembershipOptions(p);
  EXPECT_EQ(o.phi.threshold, 10.0);
  EXPECT_EQ(o.phi.max_sample_size, 500);
  EXPECT_EQ(o.phi.min_std_deviation, 100ms);
  EXPECT_EQ(o.phi.acceptable_heartbeat_pause, 3s);
  EXPECT_EQ(o.phi.first_heartbeat_estimate, 2s);
  EXPECT_EQ(o.consensus.failure_threshold, 6);
  EXPECT_EQ(o.consensus.recovery_confirmations, 2);
  EXPECT_EQ(o.consensus.heartbeat_interval, 2s);
  EXPECT_EQ(o.consensus.missed_heartbeats, 4);
  EXPECT_EQ(o.history_limit, 100);
  EXPECT_EQ(o.left_retention, 10min);
  EXPECT_EQ(o.availability_floor[0], 1.0);
  EXPECT_EQ(o.availability_floor[1], 0.75);
  EXPECT_EQ(o.availability_floor[2], 0.25);
}

TEST(PolicyTest, DefaultMembershipOptionsEqualTheModuleDefaults) {
  health::MembershipOptions mapped = ToMembershipOptions(DefaultPolicy());
  health::MembershipOptions module;
  EXPECT_EQ(mapped.phi.threshold, module.phi.threshold);
  EXPECT_EQ(mapped.phi.max_sample_size, module.phi.max_sample_size);
  EXPECT_EQ(mapped.phi.first_heartbeat_estimate, module.phi.first_heartbeat_estimate);
  EXPECT_EQ(mapped.consensus.failure_threshold, module.consensus.failure_threshold);
  EXPECT_EQ(mapped.consensus.missed_heartbeats, module.consensus.missed_heartbeats);
  EXPECT_EQ(mapped.left_retention, module.left_retention);
  EXPECT_EQ(mapped.phi.min_std_deviation, module.phi.min_std_deviation);
  EXPECT_EQ(mapped.phi.acceptable_heartbeat_pause, module.phi.acceptable_heartbeat_pause);
  EXPECT_EQ(mapped.consensus.recovery_confirmations, module.consensus.recovery_confirmations);
  EXPECT_EQ(mapped.consensus.heartbeat_interval, module.consensus.heartbeat_interval);
  EXPECT_EQ(mapped.history_limit, module.history_limit);
  for (int phase = 0; phase < 3; ++phase) {
    EXPECT_EQ(mapped.availability_floor[phase], module.availability_floor[phase]);
  }
}

TEST(PolicyTest, MembershipOptionsAtTheSchemaBoundsAreValid) {
  EXPECT_TRUE(health::Validate(ToMembershipOptions(DefaultPolicy())).ok());
  core::Result<Policy> extreme = ParsePolicy(
      "health:\n  failure_threshold: 100\n  recovery_confirmations: 100\n"
      "  history_limit: 10000\n  left_retention: 0s\n"
      "  availability_floor:\n    phase1: 0\nfailure_detection:\n  phi_threshold: 100\n"
      "  window_size: 10000\n  min_std_deviation: 1ms\n  acceptable_heartbeat_pause: 0s\n"
      "  heartbeat_interval: 1m\n  missed_heartbeats: 100\npartition:\n"
      "  heartbeat_timeout: 2m\n  split_brain_detection: 2m\n",
      "extreme.yaml");
  ASSERT_TRUE(extreme.has_value()) << extreme.error().message();
  core::Status status = health::Validate(ToMembershipOptions(*extreme));
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST(PolicyTest, EnumNamesAreTheYamlSpellings) {
  EXPECT_EQ(EnumName(DeliveryGuarantee::kAtLeastOnce), "at_least_once");
  EXPECT_EQ(EnumName(LoadBalancingAlgorithm::kWeightedRoundRobin), "weighted_round_robin");
  EXPECT_EQ(EnumName(ConflictStrategy::kLastWriteWins), "last_write_wins");
}

}  // namespace
}  // namespace agentmesh::config
