#include "agentmesh/health/phi_accrual_detector.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "testing/manual_clock.h"

namespace agentmesh::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// phi computed straight from the formula, with the window's mean and standard
// deviation computed here from the raw intervals (in milliseconds).
double ExpectedPhi(const std::vector<double>& window, double elapsed_ms,
                   const PhiAccrualOptions& options) {
  double sum = 0;
  for (double v : window) {
    sum += v;
  }
  double mean = sum / static_cast<double>(window.size());
  double sq = 0;
  for (double v : window) {
    sq += (v - mean) * (v - mean);
  }
  double std_dev = std::sqrt(sq / static_cast<double>(window.size()));
  double min_std = std::chrono::duration<double, std::milli>(options.min_std_deviation).count();
  double pause =
      std::chrono::duration<double, std::milli>(options.acceptable_heartbeat_pause).count();
  double m = mean + pause;
  double s = std::max(std_dev, min_std);
  double y = (elapsed_ms - m) / s;
  double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  return elapsed_ms > m ? -std::log10(e / (1.0 + e)) : -std::log10(1.0 - 1.0 / (1.0 + e));
}

void ExpectPhiNear(double actual, double expected) {
  EXPECT_NEAR(actual, expected, 1e-9 * std::max(1.0, std::abs(expected)));
}

TEST(PhiAccrualDetectorTest, PhiIsZeroBeforeFirstHeartbeat) {
  PhiAccrualOptions options;
  PhiAccrualDetector detector(&options);
  testing::ManualClock clock;
  EXPECT_EQ(detector.Phi(clock.Now()), 0.0);
  EXPECT_TRUE(detector.IsAvailable(clock.Now()));
  EXPECT_EQ(detector.SampleCount(), 0);
  EXPECT_FALSE(detector.LastHeartbeat().has_value());
  EXPECT_EQ(detector.HeapBytes(), 0u);
}

TEST(PhiAccrualDetectorTest, FirstHeartbeatSeedsWindowLikeAkka) {
  PhiAccrualOptions options;  // first_heartbeat_estimate 5 s
  PhiAccrualDetector detector(&options);
  testing::ManualClock clock;
  detector.Heartbeat(clock.Now());
  EXPECT_EQ(detector.SampleCount(), 2);  // 3750 ms and 6250 ms
  EXPECT_EQ(detector.Mean(), seconds(5));
  EXPECT_EQ(detector.StdDeviation(), milliseconds(1250));
  EXPECT_EQ(detector.LastHeartbeat(), clock.Now());
  EXPECT_GT(detector.HeapBytes(), 0u);
}

TEST(PhiAccrualDetectorTest, PhiFollowsFormulaAtSeveralElapsedTimes) {
  PhiAccrualOptions options;
  PhiAccrualDetector detector(&options);
  testing::ManualClock clock;
  std::vector<double> window = {3750, 6250};
  detector.Heartbeat(clock.Now());
  for (int ms : {4900, 5100, 5000, 5300, 4700, 5050, 4950, 5200}) {
    clock.Advance(milliseconds(ms));
    detector.Heartbeat(clock.Now());
    window.push_back(ms);
  }
  ASSERT_EQ(detector.SampleCount(), static_cast<int>(window.size()));
  core::TimePoint last = clock.Now();
  for (int elapsed_ms : {0, 1000, 5000, 7999, 8000, 8500, 9000, 10000, 12000, 15000}) {
    SCOPED_TRACE(elapsed_ms);
    double phi = detector.Phi(last + milliseconds(elapsed_ms));
    ExpectPhiNear(phi, ExpectedPhi(window, elapsed_ms, options));
    EXPECT_EQ(detector.IsAvailable(last + milliseconds(elapsed_ms)), phi < options.threshold);
  }
}

TEST(PhiAccrualDetectorTest, PhiRisesMonotonicallyWithSilence) {
  PhiAccrualOptions options;
  PhiAccrualDetector detector(&options);
  testing::ManualClock clock;
  for (int i = 0; i < 20; ++i) {
    detector.Heartbeat(clock.Now());
    clock.Advance(seconds(5));
  }
  double previous = -1;
  for (int ms = 0; ms <= 20000; ms += 250) {
    double phi = detector.Phi(clock.Now() + milliseconds(ms));
    EXPECT_GE(phi, previous);
    previous = phi;
  }
  EXPECT_GT(previous, options.threshold);
}

TEST(PhiAccrualDetectorTest, WindowEvictsOldestAtMaxSampleSize) {
  PhiAccrualOptions options;  // max_sample_size 1000
  PhiAccrualDetector detector(&options);
  testing::ManualClock clock;
  detector.Heartbeat(clock.Now());
  for (int i = 0; i < 998; ++i) {
    clock.Advance(milliseconds(1000));
    detector.Heartbeat(clock.Now());
  }
  EXPECT_EQ(detector.SampleCount(), 1000);
  for (int i = 0; i < 1000; ++i) {
    clock.Advance(milliseconds(2000));
    detector.Heartbeat(clock.Now());
    EXPECT_EQ(detector.SampleCount(), 1000);
  }
  // Every 1000 ms sample and both seeds are gone.
  EXPECT_EQ(detector.Mean(), milliseconds(2000));
  EXPECT_EQ(detector.StdDeviation(), core::Duration::zero());
  EXPECT_EQ(detector.HeapBytes(), 1000 * sizeof(std::uint16_t));
}

TEST(PhiAccrualDetectorTest, IntervalsSaturateAtSixtyFiveSeconds) {
  PhiAccrualOptions options;
  options.acceptable_heartbeat_pause = std::chrono::hours(1);  // keep long gaps in the window
  PhiAccrualDetector detector(&options);
  testing::ManualClock clock;
  detector.Heartbeat(clock.Now());
  clock.Advance(seconds(100));
  detector.Heartbeat(clock.Now());
  ASSERT_EQ(detector.SampleCount(), 3);
  auto mean = std::chrono::duration<double, std::milli>(detector.Mean()).count();
  EXPECT_NEAR(mean, (3750.0 + 6250.0 + 65535.0) / 3.0, 1e-6);
}

TEST(PhiAccrualDetectorTest, MinStdDeviationFloorsRegularHeartbeats) {
  PhiAccrualOptions options;
  options.max_sample_size = 10;
  PhiAccrualDetector detector(&options);
  testing::ManualClock clock;
  detector.Heartbeat(clock.Now());
  for (int i = 0; i < 30; ++i) {
    clock.Advance(seconds(5));
    detector.Heartbeat(clock.Now());
  }
  ASSERT_EQ(detector.StdDeviation(), core::Duration::zero());
  std::vector<double> window(10, 5000.0);
  for (int elapsed_ms : {5000, 8000, 8200, 8400, 9000}) {
    SCOPED_TRACE(elapsed_ms);
    ExpectPhiNear(detector.Phi(clock.Now() + milliseconds(elapsed_ms)),
                  ExpectedPhi(window, elapsed_ms, options));
  }
  // A wider floor judges the same lateness more gently.
  double narrow = detector.Phi(clock.Now() + milliseconds(8400));
  options.min_std_deviation = milliseconds(500);
  double wide = detector.Phi(clock.Now() + milliseconds(8400));
  EXPECT_LT(wide, narrow);
  ExpectPhiNear(wide, ExpectedPhi(window, 8400, options));
}

TEST(PhiAccrualDetectorTest, HeartbeatAfterSuspicionIsNotSampled) {
  PhiAccrualOptions options;
  PhiAccrualDetector detector(&options);
  testing::ManualClock clock;
  for (int i = 0; i < 10; ++i) {
    detector.Heartbeat(clock.Now());
    clock.Advance(seconds(5));
  }
  int samples = detector.SampleCount();
  core::Duration mean = detector.Mean();
  clock.Advance(seconds(60));
  ASSERT_FALSE(detector.IsAvailable(clock.Now()));
  detector.Heartbeat(clock.Now());
  EXPECT_EQ(detector.SampleCount(), samples);
  EXPECT_EQ(detector.Mean(), mean);
  EXPECT_EQ(detector.LastHeartbeat(), clock.Now());
  EXPECT_TRUE(detector.IsAvailable(clock.Now()));
}

TEST(PhiAccrualDetectorTest, MovedDetectorKeepsItsState) {
  PhiAccrualOptions options;
  PhiAccrualDetector detector(&options);
  testing::ManualClock clock;
  detector.Heartbeat(clock.Now());
  clock.Advance(seconds(5));
  detector.Heartbeat(clock.Now());
  PhiAccrualDetector moved(std::move(detector));
  EXPECT_EQ(moved.SampleCount(), 3);
  EXPECT_EQ(moved.LastHeartbeat(), clock.Now());
  PhiAccrualDetector other(&options);
  other = std::move(moved);
  EXPECT_EQ(other.SampleCount(), 3);
}

TEST(PhiAccrualDetectorTest, ValidateAcceptsDefaultsAndNamesBadFields) {
  EXPECT_TRUE(Validate(PhiAccrualOptions{}).ok());
  PhiAccrualOptions bad;
  bad.threshold = 0;
  EXPECT_EQ(Validate(bad).reason(), "invalid_threshold");
  bad = {};
  bad.max_sample_size = 0;
  EXPECT_EQ(Validate(bad).reason(), "invalid_max_sample_size");
  bad = {};
  bad.min_std_deviation = core::Duration::zero();
  EXPECT_EQ(Validate(bad).reason(), "invalid_min_std_deviation");
  bad = {};
  bad.acceptable_heartbeat_pause = -seconds(1);
  EXPECT_EQ(Validate(bad).reason(), "invalid_acceptable_heartbeat_pause");
  bad = {};
  bad.first_heartbeat_estimate = seconds(70);
  core::Status s = Validate(bad);
  EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), "invalid_first_heartbeat_estimate");
  EXPECT_NE(s.message().find("first_heartbeat_estimate"), std::string::npos);
}

}  // namespace
}  // namespace agentmesh::health
