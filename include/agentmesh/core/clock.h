// Clock: the only way agentmesh code reads time.
//
// Cores never call std::chrono::*_clock::now(); they take `now` as an argument, and
// shells read it from an injected Clock. Steady time is for durations, leases and
// deadlines; wall time only for display and event timestamps. Implementations are
// thread-safe.
#pragma once

#include <chrono>

namespace agentmesh::core {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Returns monotonic time; never goes backwards.
  virtual TimePoint Now() const = 0;
  // Returns wall-clock time, for display and event timestamps only.
  virtual WallTime WallNow() const = 0;
};

// The process's real clocks.
class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  // Returns a process-wide instance.
  static SystemClock& Instance();
};

// Converts a duration to fractional seconds, for JSON and metrics.
inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Returns milliseconds since the Unix epoch, for event timestamps.
inline long long ToUnixMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace agentmesh::core
