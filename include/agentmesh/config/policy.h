// Policy: every number of the SutazAI distributed computing rules as a typed,
// validated value, read from one YAML file (policies/sutazai.yaml).
//
// Owned by the composition root (src/cli): it loads the Policy once, maps it onto
// each module's Options struct, and building blocks never see YAML. A Policy is a
// plain value, safe to copy and share read-only. DefaultPolicy() equals the rules;
// a missing key keeps its default, so a partial file is valid.
#pragma once

#include <string>
#include <string_view>

#include "agentmesh/config/policy_coordination.h"
#include "agentmesh/config/policy_services.h"
#include "agentmesh/config/policy_values.h"
#include "agentmesh/core/status.h"
#include "agentmesh/health/membership.h"

namespace agentmesh::config {

// One member per section of the policy file, in file order.
struct Policy {
  NodePolicy node;
  ConsensusPolicy consensus;
  QuorumPolicy quorum;
  HealthPolicy health;
  ConsistencyPolicy consistency;
  PartitionPolicy partition;
  CircuitBreakerPolicy circuit_breaker;
  TransactionsPolicy transactions;
  LocksPolicy locks;
  EventBusPolicy event_bus;
  ContractsPolicy contracts;
  CommunicationPolicy communication;
  CachePolicy cache;
  LoadBalancingPolicy load_balancing;
  TrafficPolicy traffic;
  ServiceMeshPolicy service_mesh;
  IsolationPolicy isolation;
  FailureDetectionPolicy failure_detection;
  DegradationPolicy degradation;
  TracingPolicy tracing;
  DebugPolicy debug;
  SlaPolicy sla;
  StoragePolicy storage;
  friend bool operator==(const Policy&, const Policy&) = default;
};

// Returns the compiled-in policy: the rules' values.
Policy DefaultPolicy();

// Parses a policy document; `filename` only labels error messages.
// Errors: kInvalidArgument (reason "invalid_policy") whose message starts with
// "FILE:LINE:COLUMN: key.path: " for YAML syntax errors, unknown or duplicate keys,
// wrong types, bad durations or sizes, out-of-range values and inconsistent pairs
// (e.g. health.check_timeout >= health.check_interval). Several mistakes give one
// line each.
core::Result<Policy> ParsePolicy(std::string_view yaml, std::string_view filename);

// Reads and parses the file at `path`.
// Errors: kNotFound (reason "policy_file_unreadable"); as ParsePolicy otherwise.
core::Result<Policy> LoadPolicyFile(const std::string& path);

// Returns `policy` as a complete YAML document with every key, such that
// ParsePolicy(DumpPolicy(p)) == p.
std::string DumpPolicy(const Policy& policy);

// Maps the health and failure_detection sections onto the membership core's Options.
health::MembershipOptions ToMembershipOptions(const Policy& policy);

}  // namespace agentmesh::config
