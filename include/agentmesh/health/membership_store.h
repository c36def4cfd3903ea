// MembershipStore: the port through which registrations become durable.
//
// Implemented by store/ (SQLite today). Put/Remove complete `done` after the change is
// committed to stable storage (or failed); `done` may run on any thread. Calls made in
// order for one id are committed in that order. Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"
#include "agentmesh/health/types.h"

namespace agentmesh::health {

struct StoredInstance {
  InstanceSpec spec;
  HealthState state = HealthState::kHealthy;
  core::WallTime registered_at;
};

class MembershipStore {
 public:
  using Done = std::function<void(core::Status)>;
  virtual ~MembershipStore() = default;

  // Inserts or replaces the registration of spec.id.
  virtual void Put(const StoredInstance& instance, Done done) = 0;
  // Records the latest health state of `id` (no-op when unknown).
  virtual void PutState(const std::string& id, HealthState state, Done done) = 0;
  // Deletes the registration of `id` (no-op when unknown).
  virtual void Remove(const std::string& id, Done done) = 0;
  // Reads every registration; used once at startup.
  virtual core::Result<std::vector<StoredInstance>> LoadAll() = 0;
};

}  // namespace agentmesh::health
