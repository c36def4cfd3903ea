// Helpers shared by the LockTable's source files (locks.cc, lock_queue.cc, lock_state.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "agentmesh/coord/locks.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/event.h"

namespace agentmesh::coord::lock_internal {

// Milliseconds from `now` until `deadline`, rounded up; 0 once it has passed.
inline std::int64_t RemainingMs(core::TimePoint deadline, core::TimePoint now) {
  if (deadline <= now) {
    return 0;
  }
  return std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
}

// A lock.* event about one grant; `agent` is the holder's agent.
inline core::Event LockEvent(std::string type, std::string_view name, std::string_view session,
                             std::string_view agent, LockMode mode, std::uint64_t token) {
  core::Event event;
  event.type = std::move(type);
  event.agent_id = std::string(agent);
  event.data["name"] = name;
  event.data["session"] = session;
  event.data["mode"] = LockModeName(mode);
  event.data["token"] = token;
  return event;
}

}  // namespace agentmesh::coord::lock_internal
