// ManualClock: a Clock that moves only when a test says so.
#pragma once

#include <mutex>

#include "agentmesh/core/clock.h"

namespace agentmesh::testing {

class ManualClock final : public core::Clock {
 public:
  // Starts at an arbitrary non-zero point so that "time zero" bugs show up.
  ManualClock() : now_(core::TimePoint(std::chrono::hours(1000))),
                  wall_(core::WallTime(std::chrono::seconds(1'800'000'000))) {}

  core::TimePoint Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  core::WallTime WallNow() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  // Moves both clocks forward by `d`.
  void Advance(core::Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
    wall_ += std::chrono::duration_cast<core::WallTime::duration>(d);
  }

 private:
  mutable std::mutex mu_;
  core::TimePoint now_;
  core::WallTime wall_;
};

}  // namespace agentmesh::testing
