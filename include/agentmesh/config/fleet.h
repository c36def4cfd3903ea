// Fleet: the agents a deployment expects, read from a fleet file such as
// examples/sutazai/fleet.yaml (69 agents in three phases).
//
// Owned by the composition root; the demo registers these agents and the quorum
// and coordinator logic look up roles here. Plain values, safe to share read-only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agentmesh/core/status.h"

namespace agentmesh::config {

// Roles the rules name (1.1, 1.2); empty for an ordinary agent.
inline constexpr std::string_view kGlobalCoordinatorRole = "global_coordinator";
inline constexpr std::string_view kDomainCoordinatorRole = "domain_coordinator";
inline constexpr std::string_view kSecurityApproverRole = "security_approver";

struct FleetAgent {
  std::string name;                       // agent name, a valid id, unique in the fleet
  int phase = 1;                          // deployment phase 1..3
  std::string domain;                     // e.g. "architecture", "security"
  std::vector<std::string> capabilities;  // one or more ids, unique
  int replicas = 1;                       // instances to run, 1..100
  std::string role;  // "global_coordinator", "domain_coordinator", "security_approver" or ""
  friend bool operator==(const FleetAgent&, const FleetAgent&) = default;
};

struct Fleet {
  std::vector<FleetAgent> agents;  // in file order
  // Returns the sum of replicas over all agents.
  int TotalInstances() const;
};

// Parses a fleet document: a mapping with one key, `agents`, a list of agents with
// keys name, phase, domain, capabilities (required) and replicas, role (optional).
// Errors: kInvalidArgument (reason "invalid_fleet") whose message starts with
// "FILE:LINE:COLUMN: " and names the agent and key: invalid or duplicate names,
// phase outside 1..3, replicas outside 1..100, empty or invalid capabilities,
// unknown keys or roles, a coordinator or approver outside phase 1, more than one
// global coordinator or security approver, two coordinators of one domain.
core::Result<Fleet> ParseFleet(std::string_view yaml, std::string_view filename);

// Reads and parses the file at `path`.
// Errors: kNotFound (reason "fleet_file_unreadable"); as ParseFleet otherwise.
core::Result<Fleet> LoadFleetFile(const std::string& path);

}  // namespace agentmesh::config
