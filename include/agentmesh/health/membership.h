// Membership: the registry of agent instances and their health, as a sans-IO core.
//
// It owns one PhiAccrualDetector and one InstanceHealth per instance, keeps a bounded
// history of transitions, and reports every transition to an EventSink and to its
// caller. It performs no IO: the server shell persists registrations through the
// MembershipStore port and drives Tick() from a timer. Not thread-safe; the shell
// serialises calls (see src/server/README.md).
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/event.h"
#include "agentmesh/core/status.h"
#include "agentmesh/health/health_consensus.h"
#include "agentmesh/health/phi_accrual_detector.h"
#include "agentmesh/health/types.h"

namespace agentmesh::health {

struct MembershipOptions {
  PhiAccrualOptions phi;
  HealthConsensusOptions consensus;
  // Transitions kept per instance for GET /v1/agents/{id}/history.
  int history_limit = 100;
  // How long a deregistered (left) instance stays visible before it is forgotten.
  core::Duration left_retention = std::chrono::minutes(10);
  // Fraction of a phase's instances that must be healthy, per phase 1..3; below it
  // the aggregate health is critical. Index 0 is phase 1.
  double availability_floor[3] = {1.0, 0.75, 0.5};
};

core::Status Validate(const MembershipOptions& options);

// A snapshot of one instance, for the API.
struct InstanceView {
  InstanceSpec spec;
  HealthState state = HealthState::kHealthy;
  double phi = 0;
  std::optional<LoadSample> load;
  std::uint64_t heartbeats = 0;
  std::optional<core::WallTime> last_heartbeat;
  core::WallTime registered_at;
  int consecutive_failures = 0;
  std::vector<std::string> confirmations;
};

struct ListFilter {
  std::optional<int> phase;
  std::optional<std::string> domain;
  std::optional<std::string> capability;
  std::optional<std::string> agent;
  std::optional<HealthState> state;
};

// Counts per phase (index 0 = phase 1) and state, and the verdict of /health.
struct HealthSummary {
  int counts[3][5] = {};  // [phase-1][HealthState]
  bool critical = false;
  std::vector<std::string> reasons;  // why critical, one sentence each
};

enum class RegisterOutcome { kCreated, kUpdated, kUnchanged };

class Membership {
 public:
  Membership(MembershipOptions options, core::EventSink* sink);
  ~Membership();

  const MembershipOptions& options() const { return options_; }

  // Registers `spec` or updates an existing instance with the same id. A new or
  // re-registered (after left) instance starts healthy: it just proved it is alive.
  // One without an address must then heartbeat within missed_heartbeats intervals.
  // Requires: spec validated by the caller (ids, phase range).
  RegisterOutcome Register(const InstanceSpec& spec, core::TimePoint now, core::WallTime wall);
  // Marks the instance left. Errors: kNotFound (reason "unknown_instance").
  core::Status Deregister(const std::string& id, core::TimePoint now, core::WallTime wall);
  // Records a heartbeat with its load sample. Errors: kNotFound; kFailedPrecondition
  // (reason "instance_left") when the instance has deregistered.
  core::Status Heartbeat(const std::string& id, const LoadSample& load, core::TimePoint now,
                         core::WallTime wall);
  // Records the node's own health check of `id`, made by observer `observer`.
  core::Status RecordCheck(const std::string& id, bool ok, const std::string& observer,
                           core::TimePoint now, core::WallTime wall);
  // Records peer `observer`'s view of `id`. Errors: kNotFound for either id;
  // kInvalidArgument (reason "self_observation") when observer == id.
  core::Status RecordObservation(const std::string& id, const std::string& observer,
                                 bool healthy, core::TimePoint now, core::WallTime wall);
  // Evaluates failure detectors and forgets expired left instances. Call it at least
  // once per second of policy time.
  void Tick(core::TimePoint now, core::WallTime wall);

  // Restores a registration read from the store at startup. Its heartbeat clock starts
  // at `now`, so a restart does not fail every instance at once.
  void Restore(const InstanceSpec& spec, HealthState state, core::WallTime registered_at,
               core::TimePoint now);

  std::optional<InstanceView> Get(const std::string& id, core::TimePoint now) const;
  // Returns the state of `id` without building a view (the heartbeat hot path).
  std::optional<HealthState> StateOf(const std::string& id) const;
  std::vector<InstanceView> List(const ListFilter& filter, core::TimePoint now) const;
  // Returns the recorded transitions of `id`, oldest first; empty when unknown.
  std::vector<Transition> History(const std::string& id) const;
  HealthSummary Summary() const;
  std::size_t size() const;
  // Instances that have an address and are not left: the health checker's targets.
  std::vector<std::pair<std::string, std::string>> CheckTargets() const;

  // Transitions since the last call, oldest first; the shell logs, counts and
  // persists them.
  std::vector<Transition> TakeTransitions();

 private:
  struct Instance;

  void StartHeartbeatClock(Instance& inst, core::TimePoint now);
  void Record(Instance& inst, const StateChange& change, core::TimePoint now, core::WallTime wall);
  InstanceView View(const Instance& inst, core::TimePoint now) const;
  // Looks up a live (not left) instance. Errors: kNotFound, kFailedPrecondition.
  core::Result<Instance*> FindLive(const std::string& id);
  void Emit(const Instance& inst, std::string type, boost::json::object data, core::WallTime wall);
  // Returns the index of `reason` in reasons_, adding it on first use.
  std::uint8_t InternReason(std::string_view reason);

  MembershipOptions options_;
  core::EventSink* sink_;
  std::unordered_map<std::string, std::unique_ptr<Instance>> instances_;
  std::vector<Transition> pending_;
  // Distinct transition reasons; history entries store an index, not a string.
  std::vector<std::string> reasons_;
};

}  // namespace agentmesh::health
