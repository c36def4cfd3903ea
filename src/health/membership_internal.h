// Membership's per-instance record, shared by membership.cc (changes) and
// membership_query.cc (views). Private to the health module.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "agentmesh/health/membership.h"

namespace agentmesh::health {

// One recorded transition, compact: the instance id is implied and the reason is an
// index into Membership::reasons_.
struct HistoryEntry {
  core::TimePoint at;
  core::WallTime wall;
  HealthState from;
  HealthState to;
  std::uint8_t reason;
};

// Kept compact (a node holds 10,000 of these): options are shared by pointer, the
// history is a ring of 24-byte entries allocated on the first transition, and a left
// instance's detector window is released.
struct Membership::Instance {
  Instance(const MembershipOptions& options, const InstanceSpec& s, HealthState state,
           core::WallTime registered)
      : spec(s),
        detector(&options.phi),
        health(&options.consensus, state),
        registered_at(registered) {}

  InstanceSpec spec;
  PhiAccrualDetector detector;
  InstanceHealth health;
  std::optional<LoadSample> load;
  std::uint64_t heartbeats = 0;
  core::WallTime last_heartbeat_wall;  // meaningful when heartbeats > 0
  core::WallTime registered_at;
  core::TimePoint left_at;  // meaningful when the state is left
  std::vector<HistoryEntry> history;
  std::uint32_t history_head = 0;  // oldest entry once the ring is full

  void AddHistory(const HistoryEntry& entry, int limit) {
    auto cap = static_cast<std::size_t>(limit);
    if (history.size() < cap) {
      if (history.size() == history.capacity()) {
        history.reserve(std::min(cap, std::max<std::size_t>(4, history.size() * 2)));
      }
      history.push_back(entry);
      return;
    }
    history[history_head] = entry;
    history_head = history_head + 1 == cap ? 0 : history_head + 1;
  }
};

}  // namespace agentmesh::health
