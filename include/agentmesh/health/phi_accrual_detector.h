// PhiAccrualDetector: the phi accrual failure detector (Hayashibara et al.), as Akka
// and Cassandra implement it, for one monitored instance (rules 9.2).
//
// It keeps a sliding window of heartbeat inter-arrival times and reports phi, the
// -log10 probability that a heartbeat this late would still arrive. phi 8 means a
// 1e-8 chance of being wrong when calling the instance dead. Sans-IO: time comes in
// as arguments. Not thread-safe; the owner serialises calls. Memory is kept small
// (intervals stored as 16-bit milliseconds) because a node tracks thousands of these.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::health {

struct PhiAccrualOptions {
  // phi above this marks the instance suspect (rules 9.2: 8).
  double threshold = 8.0;
  // Heartbeat intervals kept in the sliding window (rules 9.2: 1000 samples).
  int max_sample_size = 1000;
  // Floor for the standard deviation, so a very regular sender is not judged too
  // harshly by a little jitter (Akka: 100 ms).
  core::Duration min_std_deviation = std::chrono::milliseconds(100);
  // Extra lateness tolerated before phi starts to rise, so a GC pause or a busy host
  // is not a failure (Akka: 3 s).
  core::Duration acceptable_heartbeat_pause = std::chrono::seconds(3);
  // Expected interval before any has been observed: the heartbeat interval (rules 3.1: 5 s).
  core::Duration first_heartbeat_estimate = std::chrono::seconds(5);
};

// Errors: kInvalidArgument naming the offending field.
core::Status Validate(const PhiAccrualOptions& options);

class PhiAccrualDetector {
 public:
  // `options` must outlive the detector; many detectors share one Options.
  explicit PhiAccrualDetector(const PhiAccrualOptions* options);
  ~PhiAccrualDetector();
  PhiAccrualDetector(PhiAccrualDetector&&) noexcept;
  PhiAccrualDetector& operator=(PhiAccrualDetector&&) noexcept;

  // Records a heartbeat that arrived at `now`.
  void Heartbeat(core::TimePoint now);
  // Returns phi at `now`; 0 before the first heartbeat.
  double Phi(core::TimePoint now) const;
  // Returns true when Phi(now) is below the threshold.
  bool IsAvailable(core::TimePoint now) const;

  int SampleCount() const;
  std::optional<core::TimePoint> LastHeartbeat() const;
  // Mean and standard deviation of the window, for /debug views.
  core::Duration Mean() const;
  core::Duration StdDeviation() const;
  // Bytes of heap this detector holds, for memory accounting.
  std::size_t HeapBytes() const;

 private:
  struct Stats {
    double mean_ms = 0;
    double std_ms = 0;
  };

  void Add(std::uint16_t interval_ms);
  void Grow();
  Stats ComputeStats() const;
  // Returns phi at `now` given the window's statistics; requires a heartbeat.
  double PhiFrom(const Stats& stats, core::TimePoint now) const;

  const PhiAccrualOptions* options_;
  std::unique_ptr<std::uint16_t[]> window_;  // ring of intervals in ms, saturating
  int capacity_ = 0;                         // allocated slots, grows up to max_sample_size
  int size_ = 0;
  int head_ = 0;
  std::uint64_t sum_ms_ = 0;
  std::uint64_t sum_sq_ms_ = 0;
  std::optional<core::TimePoint> last_;
};

}  // namespace agentmesh::health
