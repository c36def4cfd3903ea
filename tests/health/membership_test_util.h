// Shared fixture pieces for the Membership tests: a recording EventSink and specs.
#pragma once

#include <string>
#include <vector>

#include "agentmesh/core/event.h"
#include "agentmesh/health/membership.h"

#include "testing/manual_clock.h"

namespace agentmesh::health {

class RecordingSink final : public core::EventSink {
 public:
  void Emit(core::Event event) override { events.push_back(std::move(event)); }
  std::vector<const core::Event*> OfType(const std::string& type) const {
    std::vector<const core::Event*> out;
    for (const core::Event& e : events) {
      if (e.type == type) {
        out.push_back(&e);
      }
    }
    return out;
  }
  std::vector<core::Event> events;
};

inline InstanceSpec MakeSpec(const std::string& id, int phase = 1,
                             const std::string& address = "") {
  InstanceSpec spec;
  spec.id = id;
  spec.agent = "agent-" + id;
  spec.phase = phase;
  spec.domain = "architecture";
  spec.capabilities = {"plan", "review"};
  spec.address = address;
  return spec;
}

// A Membership over a ManualClock with helpers that pass the clock's times.
class MembershipFixture {
 public:
  explicit MembershipFixture(MembershipOptions options = {})
      : membership(std::move(options), &sink) {}

  RegisterOutcome Register(const InstanceSpec& spec) {
    return membership.Register(spec, clock.Now(), clock.WallNow());
  }
  core::Status Heartbeat(const std::string& id) {
    return membership.Heartbeat(id, LoadSample{0.5, 0.25, 3}, clock.Now(), clock.WallNow());
  }
  core::Status Check(const std::string& id, bool ok, const std::string& observer = "node:n1") {
    return membership.RecordCheck(id, ok, observer, clock.Now(), clock.WallNow());
  }
  core::Status Observe(const std::string& id, const std::string& observer, bool healthy) {
    return membership.RecordObservation(id, observer, healthy, clock.Now(), clock.WallNow());
  }
  core::Status Deregister(const std::string& id) {
    return membership.Deregister(id, clock.Now(), clock.WallNow());
  }
  void Tick() { membership.Tick(clock.Now(), clock.WallNow()); }
  HealthState State(const std::string& id) {
    std::optional<InstanceView> view = membership.Get(id, clock.Now());
    return view ? view->state : HealthState::kLeft;
  }

  testing::ManualClock clock;
  RecordingSink sink;
  Membership membership;
};

}  // namespace agentmesh::health
