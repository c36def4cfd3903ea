#include "agentmesh/config/policy.h"

#include <utility>

#include "config/policy_checks_internal.h"
#include "config/policy_schema_internal.h"
#include "config/yaml_reader_internal.h"

namespace agentmesh::config {
namespace {

using internal::Diagnostics;
using internal::MapCursor;
using internal::MarkIndex;
using internal::Unconstrained;

constexpr std::string_view kInvalidPolicy = "invalid_policy";

// Fills a Policy from a YAML mapping, recording where each key was set.
class ParseVisitor {
 public:
  ParseVisitor(MapCursor* root, Diagnostics* diag, MarkIndex* marks)
      : cursor_(root), diag_(diag), marks_(marks) {}

  template <typename T, typename C = Unconstrained>
  void Field(std::string_view key, T& value, C constraint = {}) {
    std::optional<YAML::Node> node = cursor_->Take(key);
    if (!node) {
      return;
    }
    std::string path = cursor_->PathOf(key);
    marks_->emplace(path, node->Mark());
    internal::ReadValue(*node, path, *diag_, value, constraint);
  }

  template <typename F>
  void Group(std::string_view key, F body) {
    std::optional<YAML::Node> node = cursor_->Take(key);
    if (!node) {
      return;
    }
    MapCursor child(*node, cursor_->PathOf(key), diag_);
    marks_->emplace(child.path(), node->Mark());
    if (!child.valid()) {
      return;
    }
    MapCursor* parent = std::exchange(cursor_, &child);
    body();
    cursor_ = parent;
    child.ReportUnknown();
  }

 private:
  MapCursor* cursor_;
  Diagnostics* diag_;
  MarkIndex* marks_;
};

}  // namespace

Policy DefaultPolicy() { return Policy{}; }

core::Result<Policy> ParsePolicy(std::string_view yaml, std::string_view filename) {
  Diagnostics diag(filename);
  std::optional<YAML::Node> root = internal::LoadYaml(yaml, diag);
  if (!root) {
    return core::Err(diag.ToStatus(std::string(kInvalidPolicy)));
  }
  Policy policy;
  MarkIndex marks;
  MapCursor cursor(*root, "", &diag);
  if (cursor.valid()) {
    ParseVisitor visitor(&cursor, &diag, &marks);
    internal::VisitPolicy(policy, visitor);
    cursor.ReportUnknown();
  }
  if (diag.ok()) {
    internal::CheckConsistency(policy, marks, diag);
  }
  if (!diag.ok()) {
    return core::Err(diag.ToStatus(std::string(kInvalidPolicy)));
  }
  return policy;
}

core::Result<Policy> LoadPolicyFile(const std::string& path) {
  core::Result<std::string> text = internal::ReadTextFile(path, "policy_file_unreadable");
  if (!text) {
    return core::Err(text.error());
  }
  return ParsePolicy(*text, path);
}

health::MembershipOptions ToMembershipOptions(const Policy& policy) {
  const FailureDetectionPolicy& fd = policy.failure_detection;
  const HealthPolicy& h = policy.health;
  health::MembershipOptions out;
  out.phi.threshold = fd.phi_threshold;
  out.phi.max_sample_size = fd.window_size;
  out.phi.min_std_deviation = fd.min_std_deviation;
  out.phi.acceptable_heartbeat_pause = fd.acceptable_heartbeat_pause;
  out.phi.first_heartbeat_estimate = fd.heartbeat_interval;
  out.consensus.failure_threshold = h.failure_threshold;
  out.consensus.recovery_confirmations = h.recovery_confirmations;
  out.consensus.heartbeat_interval = fd.heartbeat_interval;
  out.consensus.missed_heartbeats = fd.missed_heartbeats;
  out.history_limit = h.history_limit;
  out.left_retention = h.left_retention;
  out.availability_floor[0] = h.availability_floor.phase1;
  out.availability_floor[1] = h.availability_floor.phase2;
  out.availability_floor[2] = h.availability_floor.phase3;
  return out;
}

}  // namespace agentmesh::config
