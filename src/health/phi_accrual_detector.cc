#include "agentmesh/health/phi_accrual_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "agentmesh/core/check.h"
#include "agentmesh/core/duration.h"

namespace agentmesh::health {
namespace {

using Millis = std::chrono::duration<double, std::milli>;

// Largest interval a window slot holds; longer intervals saturate.
constexpr std::uint64_t kMaxIntervalMs = std::numeric_limits<std::uint16_t>::max();
// Largest window: keeps size * sum_sq_ms and sum_ms^2 within 64 bits, so the variance
// is computed exactly from integers (65535^4 < 2^64).
constexpr int kMaxSampleSizeLimit = 65535;
// Slots allocated by the first heartbeat; the ring doubles up to max_sample_size.
constexpr int kInitialCapacity = 16;
// phi at elapsed == mean + pause; below that point phi never exceeds it.
const double kPhiAtMean = std::log10(2.0);

core::Status Invalid(std::string field, std::string rule) {
  return core::InvalidArgument("invalid_" + field, field + " " + rule);
}

std::uint16_t ToSlot(core::Duration interval) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(interval).count();
  if (ms <= 0) {
    return 0;
  }
  return static_cast<std::uint16_t>(std::min<std::uint64_t>(ms, kMaxIntervalMs));
}

// The logistic approximation of the normal CDF used by Akka and Cassandra.
double PhiOf(double elapsed_ms, double mean_ms, double std_ms) {
  double y = (elapsed_ms - mean_ms) / std_ms;
  double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  double phi =
      elapsed_ms > mean_ms ? -std::log10(e / (1.0 + e)) : -std::log10(1.0 - 1.0 / (1.0 + e));
  return std::max(0.0, phi);  // turns -0.0 into 0.0
}

}  // namespace

core::Status Validate(const PhiAccrualOptions& options) {
  if (!(options.threshold > 0) || !std::isfinite(options.threshold)) {
    return Invalid("threshold",
                   "must be a positive number, got " + std::to_string(options.threshold));
  }
  if (options.max_sample_size < 1 || options.max_sample_size > kMaxSampleSizeLimit) {
    return Invalid("max_sample_size",
                   "must be between 1 and 65535, got " + std::to_string(options.max_sample_size));
  }
  if (options.min_std_deviation < std::chrono::milliseconds(1)) {
    return Invalid("min_std_deviation",
                   "must be at least 1ms, got " + core::FormatDuration(options.min_std_deviation));
  }
  if (options.acceptable_heartbeat_pause < core::Duration::zero()) {
    return Invalid(
        "acceptable_heartbeat_pause",
        "must not be negative, got " + core::FormatDuration(options.acceptable_heartbeat_pause));
  }
  if (options.first_heartbeat_estimate < std::chrono::milliseconds(1) ||
      options.first_heartbeat_estimate > std::chrono::milliseconds(kMaxIntervalMs)) {
    return Invalid("first_heartbeat_estimate",
                   "must be between 1ms and 1m5.535s, got " +
                       core::FormatDuration(options.first_heartbeat_estimate));
  }
  return core::OkStatus();
}

PhiAccrualDetector::PhiAccrualDetector(const PhiAccrualOptions* options) : options_(options) {
  AM_CHECK(options_ != nullptr);
  AM_CHECK_MSG(Validate(*options_).ok(), "PhiAccrualOptions must pass Validate()");
}

PhiAccrualDetector::~PhiAccrualDetector() = default;

PhiAccrualDetector::PhiAccrualDetector(PhiAccrualDetector&& other) noexcept
    : options_(other.options_),
      window_(std::move(other.window_)),
      capacity_(std::exchange(other.capacity_, 0)),
      size_(std::exchange(other.size_, 0)),
      head_(std::exchange(other.head_, 0)),
      sum_ms_(std::exchange(other.sum_ms_, 0)),
      sum_sq_ms_(std::exchange(other.sum_sq_ms_, 0)),
      last_(std::exchange(other.last_, std::nullopt)) {}

PhiAccrualDetector& PhiAccrualDetector::operator=(PhiAccrualDetector&& other) noexcept {
  if (this != &other) {
    options_ = other.options_;
    window_ = std::move(other.window_);
    capacity_ = std::exchange(other.capacity_, 0);
    size_ = std::exchange(other.size_, 0);
    head_ = std::exchange(other.head_, 0);
    sum_ms_ = std::exchange(other.sum_ms_, 0);
    sum_sq_ms_ = std::exchange(other.sum_sq_ms_, 0);
    last_ = std::exchange(other.last_, std::nullopt);
  }
  return *this;
}

void PhiAccrualDetector::Heartbeat(core::TimePoint now) {
  if (!last_) {
    // Like Akka, the first heartbeat seeds the window with two samples whose mean is
    // first_heartbeat_estimate and whose standard deviation is a quarter of it.
    std::uint64_t mean =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_->first_heartbeat_estimate)
            .count();
    std::uint64_t std_dev = mean / 4;
    Add(static_cast<std::uint16_t>(mean - std_dev));
    Add(static_cast<std::uint16_t>(mean + std_dev > kMaxIntervalMs ? kMaxIntervalMs
                                                                   : mean + std_dev));
    last_ = now;
    return;
  }
  // Like Akka, the first heartbeat after a suspected failure does not enter the window,
  // so one long pause does not skew the statistics.
  bool available = IsAvailable(now);
  core::Duration interval = now - *last_;
  last_ = now;
  if (available) {
    Add(ToSlot(interval));
  }
}

void PhiAccrualDetector::Add(std::uint16_t interval_ms) {
  if (size_ < options_->max_sample_size) {
    if (size_ == capacity_) {
      Grow();
    }
    window_[size_++] = interval_ms;  // head_ stays 0 until the ring is full
  } else {
    std::uint64_t old = window_[head_];
    sum_ms_ -= old;
    sum_sq_ms_ -= old * old;
    window_[head_] = interval_ms;
    head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
  }
  std::uint64_t v = interval_ms;
  sum_ms_ += v;
  sum_sq_ms_ += v * v;
}

void PhiAccrualDetector::Grow() {
  int next = std::min(options_->max_sample_size, std::max(kInitialCapacity, capacity_ * 2));
  auto grown = std::make_unique_for_overwrite<std::uint16_t[]>(next);
  std::copy_n(window_.get(), size_, grown.get());
  window_ = std::move(grown);
  capacity_ = next;
}

PhiAccrualDetector::Stats PhiAccrualDetector::ComputeStats() const {
  if (size_ == 0) {
    return {};
  }
  auto n = static_cast<std::uint64_t>(size_);
  double mean = static_cast<double>(sum_ms_) / static_cast<double>(n);
  // Exact: n * sum_sq >= sum^2 (Cauchy-Schwarz) and both fit in 64 bits.
  std::uint64_t numerator = n * sum_sq_ms_ - sum_ms_ * sum_ms_;
  double variance =
      static_cast<double>(numerator) / (static_cast<double>(n) * static_cast<double>(n));
  return {mean, std::sqrt(variance)};
}

double PhiAccrualDetector::PhiFrom(const Stats& stats, core::TimePoint now) const {
  double elapsed = Millis(now - *last_).count();
  double mean = stats.mean_ms + Millis(options_->acceptable_heartbeat_pause).count();
  double std_dev = std::max(stats.std_ms, Millis(options_->min_std_deviation).count());
  return PhiOf(elapsed, mean, std_dev);
}

double PhiAccrualDetector::Phi(core::TimePoint now) const {
  if (!last_) {
    return 0.0;
  }
  return PhiFrom(ComputeStats(), now);
}

bool PhiAccrualDetector::IsAvailable(core::TimePoint now) const {
  if (!last_) {
    return true;
  }
  Stats stats = ComputeStats();
  // Up to mean + pause phi stays at or below log10(2), so the exp/log can be skipped.
  if (options_->threshold > kPhiAtMean &&
      Millis(now - *last_).count() <=
          stats.mean_ms + Millis(options_->acceptable_heartbeat_pause).count()) {
    return true;
  }
  return PhiFrom(stats, now) < options_->threshold;
}

int PhiAccrualDetector::SampleCount() const { return size_; }

std::optional<core::TimePoint> PhiAccrualDetector::LastHeartbeat() const { return last_; }

core::Duration PhiAccrualDetector::Mean() const {
  return std::chrono::duration_cast<core::Duration>(Millis(ComputeStats().mean_ms));
}

core::Duration PhiAccrualDetector::StdDeviation() const {
  return std::chrono::duration_cast<core::Duration>(Millis(ComputeStats().std_ms));
}

std::size_t PhiAccrualDetector::HeapBytes() const {
  return static_cast<std::size_t>(capacity_) * sizeof(std::uint16_t);
}

}  // namespace agentmesh::health
