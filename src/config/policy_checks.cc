#include <cmath>
#include <initializer_list>
#include <string_view>

#include <fmt/format.h>

#include "agentmesh/core/duration.h"

#include "config/policy_checks_internal.h"
#include "config/units_internal.h"

namespace agentmesh::config::internal {
namespace {

constexpr double kWeightTolerance = 1e-9;

std::string Show(core::Duration d) { return core::FormatDuration(d); }
std::string Show(double value) { return FormatNumber(value); }

class Checker {
 public:
  Checker(const MarkIndex& marks, Diagnostics& diag) : marks_(marks), diag_(diag) {}

  // Requires lesser < greater (strict) or lesser <= greater.
  template <typename T>
  void Order(std::string_view lesser, T lesser_value, std::string_view greater, T greater_value,
             bool strict) {
    bool ok = strict ? lesser_value < greater_value : lesser_value <= greater_value;
    if (!ok) {
      Report({lesser, greater}, lesser,
             fmt::format("must be {} {} ({}), got {}", strict ? "less than" : "at most", greater,
                         Show(greater_value), Show(lesser_value)));
    }
  }

  // Requires the values at `paths` to add up to 1.
  void SumToOne(std::string_view section, std::initializer_list<std::string_view> paths,
                double sum) {
    if (std::abs(sum - 1.0) > kWeightTolerance) {
      Report(paths, section,
             fmt::format("{} must sum to 1, got {}", fmt::join(paths, " + "), Show(sum)));
    }
  }

 private:
  // Reports at the first of `paths` the file sets, else at the nearest section.
  void Report(std::initializer_list<std::string_view> paths, std::string_view path,
              const std::string& message) {
    diag_.Report(MarkOf(paths), path, message);
  }

  YAML::Mark MarkOf(std::initializer_list<std::string_view> paths) const {
    for (std::string_view p : paths) {
      if (auto it = marks_.find(p); it != marks_.end()) {
        return it->second;
      }
    }
    for (std::string_view p : paths) {
      for (std::size_t dot = p.rfind('.'); dot != std::string_view::npos; dot = p.rfind('.')) {
        p = p.substr(0, dot);
        if (auto it = marks_.find(p); it != marks_.end()) {
          return it->second;
        }
      }
    }
    return YAML::Mark::null_mark();
  }

  const MarkIndex& marks_;
  Diagnostics& diag_;
};

}  // namespace

void CheckConsistency(const Policy& p, const MarkIndex& marks, Diagnostics& diag) {
  Checker c(marks, diag);
  c.Order("consensus.election_backoff_initial", p.consensus.election_backoff_initial,
          "consensus.election_backoff_max", p.consensus.election_backoff_max, false);
  c.Order("consensus.session_renew_interval", p.consensus.session_renew_interval,
          "consensus.session_ttl", p.consensus.session_ttl, true);
  c.Order("consensus.session_ttl_min", p.consensus.session_ttl_min, "consensus.session_ttl",
          p.consensus.session_ttl, false);
  c.Order("consensus.session_ttl", p.consensus.session_ttl, "consensus.session_ttl_max",
          p.consensus.session_ttl_max, false);
  c.Order("health.check_timeout", p.health.check_timeout, "health.check_interval",
          p.health.check_interval, true);
  c.Order("failure_detection.heartbeat_interval", p.failure_detection.heartbeat_interval,
          "partition.heartbeat_timeout", p.partition.heartbeat_timeout, true);
  c.Order("partition.heartbeat_timeout", p.partition.heartbeat_timeout,
          "partition.split_brain_detection", p.partition.split_brain_detection, false);
  c.Order("locks.renewal_interval", p.locks.renewal_interval, "locks.timeout", p.locks.timeout,
          true);
  c.Order("communication.sync_timeout", p.communication.sync_timeout, "communication.heavy_timeout",
          p.communication.heavy_timeout, false);
  c.Order("isolation.child_timeout_margin", p.isolation.child_timeout_margin,
          "communication.sync_timeout", p.communication.sync_timeout, true);
  c.Order("cache.l1.ttl", p.cache.l1.ttl, "cache.l2.ttl", p.cache.l2.ttl, false);
  c.Order("cache.l2.ttl", p.cache.l2.ttl, "cache.l3.ttl", p.cache.l3.ttl, false);
  c.Order("traffic.retry_base_delay", p.traffic.retry_base_delay, "traffic.retry_max_delay",
          p.traffic.retry_max_delay, false);
  c.Order("traffic.connect_timeout", p.traffic.connect_timeout, "traffic.request_timeout",
          p.traffic.request_timeout, false);
  c.Order("sla.latency.p50", p.sla.latency.p50, "sla.latency.p95", p.sla.latency.p95, false);
  c.Order("sla.latency.p95", p.sla.latency.p95, "sla.latency.p99", p.sla.latency.p99, false);
  c.Order("sla.cpu.min", p.sla.cpu.min, "sla.cpu.max", p.sla.cpu.max, false);
  c.Order("sla.memory.min", p.sla.memory.min, "sla.memory.max", p.sla.memory.max, false);
  const LoadBalancingPolicy& lb = p.load_balancing;
  c.SumToOne(
      "load_balancing",
      {"load_balancing.cpu_weight", "load_balancing.memory_weight", "load_balancing.queue_weight"},
      lb.cpu_weight + lb.memory_weight + lb.queue_weight);
}

}  // namespace agentmesh::config::internal
