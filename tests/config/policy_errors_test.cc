#include <string>

#include <gtest/gtest.h>

#include "agentmesh/config/policy.h"

namespace agentmesh::config {
namespace {

struct BadPolicy {
  const char* name;
  const char* yaml;
  // The first line of the error message starts with this.
  const char* prefix;
};

class PolicyErrorTest : public testing::TestWithParam<BadPolicy> {};

TEST_P(PolicyErrorTest, IsRejectedWithFileLineColumnAndKeyPath) {
  const BadPolicy& c = GetParam();
  core::Result<Policy> parsed = ParsePolicy(c.yaml, "policy.yaml");
  ASSERT_FALSE(parsed.has_value()) << c.yaml;
  EXPECT_EQ(parsed.error().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().reason(), "invalid_policy");
  EXPECT_EQ(parsed.error().message().rfind(c.prefix, 0), 0u)
      << "message: " << parsed.error().message() << "\nexpected prefix: " << c.prefix;
}

INSTANTIATE_TEST_SUITE_P(
    BadInputs, PolicyErrorTest,
    testing::Values(
        BadPolicy{"UnknownKey", "health:\n  check_intervall: 5s\n",
                  "policy.yaml:2:3: health.check_intervall: unknown key (did you mean "
                  "'check_interval'?)"},
        BadPolicy{"UnknownSection", "storages:\n  engine: sqlite\n",
                  "policy.yaml:1:1: storages: unknown key"},
        BadPolicy{"UnknownBackend", "storage:\n  membership: sqlite\n",
                  "policy.yaml:2:15: storage.membership:"},
        BadPolicy{"UnknownCoordinationBackend", "storage:\n  coordination:\n    backend: zk\n",
                  "policy.yaml:3:14: storage.coordination.backend:"},
        BadPolicy{
            "EtcdEndpointNotAUrl",
            "storage:\n  coordination:\n    endpoints: [\"127.0.0.1:2379\"]\n",
            "policy.yaml:3:17: storage.coordination.endpoints[0]: must be an http:// URL such as "
            "http://127.0.0.1:2379"},
        BadPolicy{"EtcdPrefixNotAPath", "storage:\n  coordination:\n    prefix: agentmesh\n",
                  "policy.yaml:3:13: storage.coordination.prefix: must be a path"},
        BadPolicy{"UnknownNestedKey", "cache:\n  l1:\n    capacity: 1MiB\n",
                  "policy.yaml:3:5: cache.l1.capacity: unknown key"},
        BadPolicy{"DuplicateKey", "locks:\n  timeout: 30s\n  timeout: 40s\n",
                  "policy.yaml:3:3: locks.timeout: duplicate key"},
        BadPolicy{"IntegerWrongType", "circuit_breaker:\n  failure_threshold: five\n",
                  "policy.yaml:2:22: circuit_breaker.failure_threshold: must be an integer, "
                  "got 'five'"},
        BadPolicy{"ScalarGivenAMapping", "locks:\n  max_renewals:\n    a: 1\n",
                  "policy.yaml:3:5: locks.max_renewals: must be an integer, got a mapping"},
        BadPolicy{"SectionNotAMapping", "health: 5\n",
                  "policy.yaml:1:9: health: must be a mapping, got a scalar"},
        BadPolicy{"DocumentNotAMapping", "- a\n- b\n",
                  "policy.yaml:1:1: must be a mapping, got a list"},
        BadPolicy{"DurationWithoutUnit", "locks:\n  timeout: 30\n",
                  "policy.yaml:2:12: locks.timeout: must be a duration like \"30s\""},
        BadPolicy{"DurationUnknownUnit", "partition:\n  heartbeat_timeout: 15 sec\n",
                  "policy.yaml:2:22: partition.heartbeat_timeout: must be a duration"},
        BadPolicy{"IntegerOutOfRange", "circuit_breaker:\n  failure_threshold: 0\n",
                  "policy.yaml:2:22: circuit_breaker.failure_threshold: must be between 1 and "
                  "1000, got 0"},
        BadPolicy{"FractionOutOfRange", "tracing:\n  sampling_rate: 1.5\n",
                  "policy.yaml:2:18: tracing.sampling_rate: must be between 0 and 1, got 1.5"},
        BadPolicy{"DurationOutOfRange", "node:\n  tick_interval: 1h\n",
                  "policy.yaml:2:18: node.tick_interval: must be between 10ms and 1m, got 1h"},
        BadPolicy{"SizeWithBadUnit", "cache:\n  l1:\n    size: 256XB\n",
                  "policy.yaml:3:11: cache.l1.size: must be a size like \"256MiB\""},
        BadPolicy{"BoolNotTrueOrFalse", "locks:\n  auto_renewal: yes\n",
                  "policy.yaml:2:17: locks.auto_renewal: must be one of false, true, got 'yes'"},
        BadPolicy{"UnknownEnumValue", "cache:\n  invalidation: lru\n",
                  "policy.yaml:2:17: cache.invalidation: must be one of ttl, event, version, "
                  "got 'lru'"},
        BadPolicy{"ListElementOutOfRange", "traffic:\n  retry_on: [500, 700]\n",
                  "policy.yaml:2:19: traffic.retry_on[1]: must be between 100 and 599, got 700"},
        BadPolicy{"BadTimeOfDay", "cache:\n  warming:\n    scheduled_at: \"25:00\"\n",
                  "policy.yaml:3:19: cache.warming.scheduled_at: must be a time of day"},
        BadPolicy{"BadListenAddress", "node:\n  listen: localhost\n",
                  "policy.yaml:2:11: node.listen: must be host:port"},
        BadPolicy{"BadApproverId", "quorum:\n  security_approver: \"bad name\"\n",
                  "policy.yaml:2:22: quorum.security_approver: "},
        BadPolicy{"CheckTimeoutNotBelowInterval", "health:\n  check_interval: 1s\n",
                  "policy.yaml:2:19: health.check_timeout: must be less than "
                  "health.check_interval (1s), got 2s"},
        BadPolicy{"BackoffInitialAboveMax", "consensus:\n  election_backoff_initial: 1m\n",
                  "policy.yaml:2:29: consensus.election_backoff_initial: must be at most "
                  "consensus.election_backoff_max (30s), got 1m"},
        BadPolicy{"WeightsDoNotSumToOne", "load_balancing:\n  cpu_weight: 0.5\n",
                  "policy.yaml:2:15: load_balancing: load_balancing.cpu_weight + "
                  "load_balancing.memory_weight + load_balancing.queue_weight must sum to 1, "
                  "got 1.1"},
        BadPolicy{"SlaBandInverted", "sla:\n  cpu:\n    min: 0.9\n",
                  "policy.yaml:3:10: sla.cpu.min: must be at most sla.cpu.max (0.8), got 0.9"},
        BadPolicy{"YamlSyntaxError", "health:\n  check_interval: [1s\n",
                  "policy.yaml:3:1: YAML syntax error: "}),
    [](const testing::TestParamInfo<BadPolicy>& info) { return std::string(info.param.name); });

TEST(PolicyErrorsTest, ReportsEveryMistakeOnItsOwnLine) {
  core::Result<Policy> parsed =
      ParsePolicy("locks:\n  timeout: 30\n  bogus: 1\ntracing:\n  sampling_rate: 2\n", "p.yaml");
  ASSERT_FALSE(parsed.has_value());
  const std::string& m = parsed.error().message();
  EXPECT_NE(m.find("p.yaml:2:12: locks.timeout:"), std::string::npos) << m;
  EXPECT_NE(m.find("\np.yaml:3:3: locks.bogus: unknown key"), std::string::npos) << m;
  EXPECT_NE(m.find("\np.yaml:5:18: tracing.sampling_rate:"), std::string::npos) << m;
}

TEST(PolicyErrorsTest, CrossFieldChecksWaitForValidKeys) {
  core::Result<Policy> parsed = ParsePolicy("health:\n  check_interval: soon\n", "p.yaml");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().message().find("check_timeout"), std::string::npos)
      << parsed.error().message();
}

}  // namespace
}  // namespace agentmesh::config
