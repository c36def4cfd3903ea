// Membership's read side: views, listings, history and the aggregate health summary.
#include <algorithm>
#include <cmath>
#include <string>

#include "agentmesh/health/membership.h"

#include "health/membership_internal.h"

namespace agentmesh::health {
namespace {

std::string Percent(double fraction) {
  return std::to_string(static_cast<int>(std::lround(fraction * 100))) + "%";
}

}  // namespace

std::optional<InstanceView> Membership::Get(const std::string& id, core::TimePoint now) const {
  auto it = instances_.find(id);
  if (it == instances_.end()) {
    return std::nullopt;
  }
  return View(*it->second, now);
}

std::optional<HealthState> Membership::StateOf(const std::string& id) const {
  auto it = instances_.find(id);
  if (it == instances_.end()) {
    return std::nullopt;
  }
  return it->second->health.state();
}

std::vector<InstanceView> Membership::List(const ListFilter& filter, core::TimePoint now) const {
  std::vector<const Instance*> matches;
  for (const auto& [id, inst] : instances_) {
    const InstanceSpec& spec = inst->spec;
    if ((filter.phase && spec.phase != *filter.phase) ||
        (filter.domain && spec.domain != *filter.domain) ||
        (filter.agent && spec.agent != *filter.agent) ||
        (filter.state && inst->health.state() != *filter.state) ||
        (filter.capability && std::find(spec.capabilities.begin(), spec.capabilities.end(),
                                        *filter.capability) == spec.capabilities.end())) {
      continue;
    }
    matches.push_back(inst.get());
  }
  std::sort(matches.begin(), matches.end(),
            [](const Instance* a, const Instance* b) { return a->spec.id < b->spec.id; });
  std::vector<InstanceView> out;
  out.reserve(matches.size());
  for (const Instance* inst : matches) {
    out.push_back(View(*inst, now));
  }
  return out;
}

std::vector<Transition> Membership::History(const std::string& id) const {
  std::vector<Transition> out;
  auto it = instances_.find(id);
  if (it == instances_.end()) {
    return out;
  }
  const Instance& inst = *it->second;
  std::size_t n = inst.history.size();
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const HistoryEntry& e = inst.history[(inst.history_head + i) % n];
    out.push_back(Transition{id, e.from, e.to, reasons_[e.reason], e.at, e.wall});
  }
  return out;
}

HealthSummary Membership::Summary() const {
  HealthSummary summary;
  std::vector<std::string> unhealthy_phase1;
  for (const auto& [id, inst] : instances_) {
    int phase = inst->spec.phase;
    if (phase < kMinPhase || phase > kMaxPhase) {
      continue;  // the API validates phases; never index out of range
    }
    HealthState state = inst->health.state();
    ++summary.counts[phase - 1][static_cast<int>(state)];
    if (phase == 1 && state == HealthState::kUnhealthy) {
      unhealthy_phase1.push_back(id);
    }
  }
  std::sort(unhealthy_phase1.begin(), unhealthy_phase1.end());
  for (const std::string& id : unhealthy_phase1) {
    summary.reasons.push_back("Phase 1 instance '" + id + "' is unhealthy.");
  }
  for (int p = 0; p < 3; ++p) {
    const int* counts = summary.counts[p];
    int total = 0;
    for (HealthState state : kAllHealthStates) {
      if (state != HealthState::kLeft) {
        total += counts[static_cast<int>(state)];
      }
    }
    if (total == 0) {
      continue;
    }
    int healthy = counts[static_cast<int>(HealthState::kHealthy)];
    double floor = options_.availability_floor[p];
    if (static_cast<double>(healthy) < floor * static_cast<double>(total)) {
      summary.reasons.push_back("Phase " + std::to_string(p + 1) + " has " +
                                std::to_string(healthy) + " of " + std::to_string(total) +
                                " instances healthy (" +
                                Percent(static_cast<double>(healthy) / total) +
                                "), below its availability floor of " + Percent(floor) + ".");
    }
  }
  summary.critical = !summary.reasons.empty();
  return summary;
}

std::size_t Membership::size() const { return instances_.size(); }

std::vector<std::pair<std::string, std::string>> Membership::CheckTargets() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [id, inst] : instances_) {
    if (!inst->spec.address.empty() && inst->health.state() != HealthState::kLeft) {
      out.emplace_back(id, inst->spec.address);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

InstanceView Membership::View(const Instance& inst, core::TimePoint now) const {
  InstanceView view;
  view.spec = inst.spec;
  view.state = inst.health.state();
  view.phi = view.state == HealthState::kLeft ? 0.0 : inst.detector.Phi(now);
  view.load = inst.load;
  view.heartbeats = inst.heartbeats;
  if (inst.heartbeats > 0) {
    view.last_heartbeat = inst.last_heartbeat_wall;
  }
  view.registered_at = inst.registered_at;
  view.consecutive_failures = inst.health.consecutive_failures();
  view.confirmations = inst.health.confirmations();
  return view;
}

}  // namespace agentmesh::health
