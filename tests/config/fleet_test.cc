#include "agentmesh/config/fleet.h"

#include <algorithm>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace agentmesh::config {
namespace {

const std::string kFleetPath = std::string(AGENTMESH_SOURCE_DIR) + "/examples/sutazai/fleet.yaml";

const FleetAgent* Find(const Fleet& fleet, const std::string& name) {
  auto it = std::ranges::find(fleet.agents, name, &FleetAgent::name);
  return it == fleet.agents.end() ? nullptr : &*it;
}

TEST(FleetTest, ShippedSutazaiFleetHas69AgentsInThreePhases) {
  core::Result<Fleet> fleet = LoadFleetFile(kFleetPath);
  ASSERT_TRUE(fleet.has_value()) << fleet.error().message();
  EXPECT_EQ(fleet->agents.size(), 69u);
  std::set<int> phases;
  for (const FleetAgent& a : fleet->agents) {
    phases.insert(a.phase);
    EXPECT_GE(a.replicas, 1) << a.name;
    EXPECT_LE(a.replicas, 3) << a.name;
  }
  EXPECT_EQ(phases, (std::set<int>{1, 2, 3}));
  EXPECT_GE(fleet->TotalInstances(), 90);
  EXPECT_LE(fleet->TotalInstances(), 110);
}

TEST(FleetTest, ShippedSutazaiFleetHasTheRolesTheRulesName) {
  core::Result<Fleet> fleet = LoadFleetFile(kFleetPath);
  ASSERT_TRUE(fleet.has_value()) << fleet.error().message();

  const FleetAgent* orchestrator = Find(*fleet, "ai-agent-orchestrator");
  ASSERT_NE(orchestrator, nullptr);
  EXPECT_EQ(orchestrator->phase, 1);
  EXPECT_EQ(orchestrator->role, kGlobalCoordinatorRole);

  const std::pair<std::string, std::string> coordinators[] = {
      {"ai-system-architect", "architecture"},
      {"deployment-automation-master", "deployment"},
      {"mega-code-auditor", "quality"}};
  for (const auto& [name, domain] : coordinators) {
    const FleetAgent* a = Find(*fleet, name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ(a->phase, 1) << name;
    EXPECT_EQ(a->domain, domain) << name;
    EXPECT_EQ(a->role, kDomainCoordinatorRole) << name;
  }

  const FleetAgent* approver = Find(*fleet, "security-pentesting-specialist");
  ASSERT_NE(approver, nullptr);
  EXPECT_EQ(approver->role, kSecurityApproverRole);

  int phase1 = 0;
  std::set<std::string> supporting;
  for (const FleetAgent& a : fleet->agents) {
    phase1 += a.phase == 1 ? 1 : 0;
    if (a.phase >= 2) {
      supporting.insert(a.domain);
    }
  }
  EXPECT_GE(phase1, 3) << "quorum needs at least 3 phase 1 agents (rules 1.2)";
  for (const char* domain : {"observability", "security", "data-pipeline"}) {
    EXPECT_TRUE(supporting.contains(domain)) << domain;
  }
}

TEST(FleetTest, ParsesOptionalKeysWithDefaults) {
  core::Result<Fleet> fleet =
      ParseFleet("agents:\n  - name: a1\n    phase: 2\n    domain: ops\n    capabilities: [x, y]\n",
                 "fleet.yaml");
  ASSERT_TRUE(fleet.has_value()) << fleet.error().message();
  ASSERT_EQ(fleet->agents.size(), 1u);
  EXPECT_EQ(fleet->agents[0], (FleetAgent{"a1", 2, "ops", {"x", "y"}, 1, ""}));
  EXPECT_EQ(fleet->TotalInstances(), 1);
}

struct BadFleet {
  const char* name;
  const char* yaml;
  const char* prefix;
};

class FleetErrorTest : public testing::TestWithParam<BadFleet> {};

TEST_P(FleetErrorTest, IsRejectedWithFileLineColumnAndAgent) {
  const BadFleet& c = GetParam();
  core::Result<Fleet> fleet = ParseFleet(c.yaml, "fleet.yaml");
  ASSERT_FALSE(fleet.has_value()) << c.yaml;
  EXPECT_EQ(fleet.error().reason(), "invalid_fleet");
  EXPECT_EQ(fleet.error().message().rfind(c.prefix, 0), 0u)
      << "message: " << fleet.error().message() << "\nexpected prefix: " << c.prefix;
}

#define AGENT(name, extra) \
  "  - name: " name "\n    phase: 1\n    domain: d\n    capabilities: [c]\n" extra

INSTANTIATE_TEST_SUITE_P(
    BadInputs, FleetErrorTest,
    testing::Values(
        BadFleet{"MissingAgentsKey", "agent: []\n",
                 "fleet.yaml:1:1: missing required key 'agents'"},
        BadFleet{"AgentsNotAList", "agents: 3\n",
                 "fleet.yaml:1:9: agents: must be a list of agents"},
        BadFleet{"InvalidName", "agents:\n" AGENT("\"-bad\"", ""),
                 "fleet.yaml:2:11: agents[0].name: "},
        BadFleet{"DuplicateName", "agents:\n" AGENT("a", "") AGENT("a", ""),
                 "fleet.yaml:6:11: agents[1](a).name: 'a' is already the name of agents[0](a)"},
        BadFleet{"PhaseOutOfRange",
                 "agents:\n  - name: a\n    phase: 4\n    domain: d\n"
                 "    capabilities: [c]\n",
                 "fleet.yaml:3:12: agents[0](a).phase: must be between 1 and 3, got 4"},
        BadFleet{"ReplicasOutOfRange", "agents:\n" AGENT("a", "    replicas: 0\n"),
                 "fleet.yaml:6:15: agents[0](a).replicas: must be between 1 and 100, got 0"},
        BadFleet{"EmptyCapabilities",
                 "agents:\n  - name: a\n    phase: 1\n    domain: d\n"
                 "    capabilities: []\n",
                 "fleet.yaml:5:19: agents[0](a).capabilities: must be a non-empty list"},
        BadFleet{"InvalidCapability",
                 "agents:\n  - name: a\n    phase: 1\n    domain: d\n"
                 "    capabilities: [ok, \"not ok\"]\n",
                 "fleet.yaml:5:24: agents[0](a).capabilities[1]: "},
        BadFleet{"MissingDomain", "agents:\n  - name: a\n    phase: 1\n    capabilities: [c]\n",
                 "fleet.yaml:2:5: agents[0](a): missing required key 'domain'"},
        BadFleet{"UnknownKey", "agents:\n" AGENT("a", "    replica: 2\n"),
                 "fleet.yaml:6:5: agents[0](a).replica: unknown key (did you mean 'replicas'?)"},
        BadFleet{"UnknownRole", "agents:\n" AGENT("a", "    role: boss\n"),
                 "fleet.yaml:6:11: agents[0](a).role: must be one of global_coordinator"},
        BadFleet{"CoordinatorOutsidePhase1",
                 "agents:\n  - name: a\n    phase: 2\n    domain: d\n    capabilities: [c]\n"
                 "    role: domain_coordinator\n",
                 "fleet.yaml:6:11: agents[0](a).role: domain_coordinator must be a phase 1 agent"},
        BadFleet{"TwoGlobalCoordinators",
                 "agents:\n" AGENT("a", "    role: global_coordinator\n")
                     AGENT("b", "    role: global_coordinator\n"),
                 "fleet.yaml:11:11: agents[1](b).role: global_coordinator is already agents[0](a)"},
        BadFleet{"TwoCoordinatorsOfOneDomain",
                 "agents:\n" AGENT("a", "    role: domain_coordinator\n")
                     AGENT("b", "    role: domain_coordinator\n"),
                 "fleet.yaml:11:11: agents[1](b).role: domain 'd' already has coordinator "
                 "agents[0](a)"},
        BadFleet{"YamlSyntaxError", "agents: [\n", "fleet.yaml:2:1: YAML syntax error: "}),
    [](const testing::TestParamInfo<BadFleet>& info) { return std::string(info.param.name); });

#undef AGENT

TEST(FleetTest, MissingFileIsNotFound) {
  core::Result<Fleet> fleet = LoadFleetFile("/nonexistent/agentmesh/fleet.yaml");
  ASSERT_FALSE(fleet.has_value());
  EXPECT_EQ(fleet.error().code(), core::StatusCode::kNotFound);
}

}  // namespace
}  // namespace agentmesh::config
