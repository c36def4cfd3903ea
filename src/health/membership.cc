#include "agentmesh/health/membership.h"

#include <string>
#include <utility>

#include "agentmesh/core/check.h"
#include "agentmesh/core/duration.h"

#include "health/membership_internal.h"

namespace agentmesh::health {
namespace {

// Upper bound of history_limit: history entries are indexed with 32 bits, and a
// longer history per instance would break the per-instance memory budget.
constexpr int kMaxHistoryLimit = 10000;

}  // namespace

core::Status Validate(const MembershipOptions& options) {
  if (core::Status s = Validate(options.phi); !s.ok()) {
    return core::InvalidArgument(s.reason(), "phi." + s.message());
  }
  if (core::Status s = Validate(options.consensus); !s.ok()) {
    return core::InvalidArgument(s.reason(), "consensus." + s.message());
  }
  if (options.history_limit < 1 || options.history_limit > kMaxHistoryLimit) {
    return core::InvalidArgument(
        "invalid_history_limit",
        "history_limit must be between 1 and 10000, got " + std::to_string(options.history_limit));
  }
  if (options.left_retention < core::Duration::zero()) {
    return core::InvalidArgument(
        "invalid_left_retention",
        "left_retention must not be negative, got " + core::FormatDuration(options.left_retention));
  }
  for (int i = 0; i < 3; ++i) {
    double floor = options.availability_floor[i];
    if (!(floor >= 0.0 && floor <= 1.0)) {
      return core::InvalidArgument("invalid_availability_floor",
                                   "availability_floor for phase " + std::to_string(i + 1) +
                                       " must be between 0 and 1, got " + std::to_string(floor));
    }
  }
  return core::OkStatus();
}

Membership::Membership(MembershipOptions options, core::EventSink* sink)
    : options_(std::move(options)), sink_(sink) {
  AM_CHECK_MSG(Validate(options_).ok(), "MembershipOptions must pass Validate()");
}

Membership::~Membership() = default;

RegisterOutcome Membership::Register(const InstanceSpec& spec, core::TimePoint now,
                                     core::WallTime wall) {
  auto it = instances_.find(spec.id);
  if (it == instances_.end()) {
    auto inst = std::make_unique<Instance>(options_, spec, HealthState::kHealthy, wall);
    Instance& ref = *inst;
    StartHeartbeatClock(ref, now);
    instances_.emplace(spec.id, std::move(inst));
    Emit(ref, "agent.registered", {{"outcome", "created"}}, wall);
    return RegisterOutcome::kCreated;
  }
  Instance& inst = *it->second;
  if (inst.health.state() == HealthState::kLeft) {
    inst.spec = spec;
    inst.detector = PhiAccrualDetector(&options_.phi);
    inst.health = InstanceHealth(&options_.consensus, HealthState::kHealthy);
    inst.load.reset();
    inst.heartbeats = 0;
    inst.registered_at = wall;
    StartHeartbeatClock(inst, now);
    Record(inst, {HealthState::kLeft, HealthState::kHealthy, "reregistered"}, now, wall);
    Emit(inst, "agent.registered", {{"outcome", "reregistered"}}, wall);
    return RegisterOutcome::kCreated;
  }
  if (inst.spec == spec) {
    return RegisterOutcome::kUnchanged;
  }
  inst.spec = spec;
  Emit(inst, "agent.registered", {{"outcome", "updated"}}, wall);
  return RegisterOutcome::kUpdated;
}

core::Status Membership::Deregister(const std::string& id, core::TimePoint now,
                                    core::WallTime wall) {
  auto it = instances_.find(id);
  if (it == instances_.end()) {
    return core::NotFound("unknown_instance", "no instance '" + id + "' is registered");
  }
  Instance& inst = *it->second;
  std::optional<StateChange> change = inst.health.OnLeave();
  if (!change) {
    return core::OkStatus();  // already left: deregistering twice is harmless
  }
  inst.left_at = now;
  inst.detector = PhiAccrualDetector(&options_.phi);  // releases the window
  inst.load.reset();
  Record(inst, *change, now, wall);
  Emit(inst, "agent.deregistered", {}, wall);
  return core::OkStatus();
}

core::Result<Membership::Instance*> Membership::FindLive(const std::string& id) {
  auto it = instances_.find(id);
  if (it == instances_.end()) {
    return core::Err(core::NotFound("unknown_instance", "no instance '" + id + "' is registered"));
  }
  if (it->second->health.state() == HealthState::kLeft) {
    return core::Err(core::FailedPrecondition(
        "instance_left", "instance '" + id + "' has deregistered; register it again first"));
  }
  return it->second.get();
}

core::Status Membership::Heartbeat(const std::string& id, const LoadSample& load,
                                   core::TimePoint now, core::WallTime wall) {
  core::Result<Instance*> found = FindLive(id);
  if (!found) {
    return found.error();
  }
  Instance& inst = **found;
  inst.detector.Heartbeat(now);
  inst.load = load;
  ++inst.heartbeats;
  inst.last_heartbeat_wall = wall;
  if (auto change = inst.health.OnHeartbeat(inst.detector.IsAvailable(now))) {
    Record(inst, *change, now, wall);
  }
  return core::OkStatus();
}

core::Status Membership::RecordCheck(const std::string& id, bool ok, const std::string& observer,
                                     core::TimePoint now, core::WallTime wall) {
  core::Result<Instance*> found = FindLive(id);
  if (!found) {
    return found.error();
  }
  if (auto change = (*found)->health.OnCheck(ok, observer)) {
    Record(**found, *change, now, wall);
  }
  return core::OkStatus();
}

core::Status Membership::RecordObservation(const std::string& id, const std::string& observer,
                                           bool healthy, core::TimePoint now, core::WallTime wall) {
  if (id == observer) {
    return core::InvalidArgument("self_observation",
                                 "instance '" + id + "' cannot report on its own health");
  }
  auto obs = instances_.find(observer);
  if (obs == instances_.end()) {
    return core::NotFound("unknown_observer", "no observer '" + observer + "' is registered");
  }
  bool observer_healthy = obs->second->health.state() == HealthState::kHealthy;
  core::Result<Instance*> found = FindLive(id);
  if (!found) {
    return found.error();
  }
  if (auto change = (*found)->health.OnObservation(observer, healthy, observer_healthy)) {
    Record(**found, *change, now, wall);
  }
  return core::OkStatus();
}

void Membership::Tick(core::TimePoint now, core::WallTime wall) {
  const core::Duration timeout =
      options_.consensus.heartbeat_interval * options_.consensus.missed_heartbeats;
  for (auto it = instances_.begin(); it != instances_.end();) {
    Instance& inst = *it->second;
    if (inst.health.state() == HealthState::kLeft) {
      if (now - inst.left_at >= options_.left_retention) {
        it = instances_.erase(it);
      } else {
        ++it;
      }
      continue;
    }
    if (std::optional<core::TimePoint> last = inst.detector.LastHeartbeat()) {
      bool expired = now - *last >= timeout;
      bool suspect = !inst.detector.IsAvailable(now);
      if (auto change = inst.health.OnDetector(suspect, expired)) {
        Record(inst, *change, now, wall);
      }
    }
    ++it;
  }
}

void Membership::Restore(const InstanceSpec& spec, HealthState state, core::WallTime registered_at,
                         core::TimePoint now) {
  auto inst = std::make_unique<Instance>(options_, spec, state, registered_at);
  if (state == HealthState::kLeft) {
    inst->left_at = now;
  } else {
    StartHeartbeatClock(*inst, now);
  }
  instances_.insert_or_assign(spec.id, std::move(inst));
}

void Membership::StartHeartbeatClock(Instance& inst, core::TimePoint now) {
  // Heartbeats are all the node can know of an instance without an address, so
  // registration (or a restart) counts as its first one: an instance that never
  // heartbeats expires instead of staying healthy forever. An instance with an address
  // is judged by health checks until its first real heartbeat; faking one would expire
  // a check-only instance and leave it stuck unhealthy.
  if (inst.spec.address.empty()) {
    inst.detector.Heartbeat(now);
  }
}

std::vector<Transition> Membership::TakeTransitions() { return std::exchange(pending_, {}); }

void Membership::Record(Instance& inst, const StateChange& change, core::TimePoint now,
                        core::WallTime wall) {
  inst.AddHistory({now, wall, change.from, change.to, InternReason(change.reason)},
                  options_.history_limit);
  pending_.push_back(Transition{inst.spec.id, change.from, change.to, change.reason, now, wall});
  Emit(inst, "agent.health_changed",
       {{"from", HealthStateName(change.from)},
        {"to", HealthStateName(change.to)},
        {"reason", change.reason}},
       wall);
}

void Membership::Emit(const Instance& inst, std::string type, boost::json::object data,
                      core::WallTime wall) {
  if (sink_ == nullptr) {
    return;
  }
  data["agent"] = inst.spec.agent;
  data["phase"] = inst.spec.phase;
  core::Event event;
  event.type = std::move(type);
  event.agent_id = inst.spec.id;
  event.timestamp = wall;
  event.data = std::move(data);
  sink_->Emit(std::move(event));
}

std::uint8_t Membership::InternReason(std::string_view reason) {
  for (std::size_t i = 0; i < reasons_.size(); ++i) {
    if (reasons_[i] == reason) {
      return static_cast<std::uint8_t>(i);
    }
  }
  AM_CHECK_MSG(reasons_.size() < 256, "more than 256 distinct transition reasons");
  reasons_.emplace_back(reason);
  return static_cast<std::uint8_t>(reasons_.size() - 1);
}

}  // namespace agentmesh::health
