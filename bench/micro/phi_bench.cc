// Phi accrual detector hot path: one heartbeat and one phi evaluation per iteration.
#include <chrono>

#include <benchmark/benchmark.h>

#include "agentmesh/health/phi_accrual_detector.h"

namespace agentmesh::health {
namespace {

using std::chrono::milliseconds;

// Heartbeats 5 s apart with a little deterministic jitter, window full (1000 samples).
void BM_PhiAccrual_HeartbeatAndPhi(benchmark::State& state) {
  PhiAccrualOptions options;
  PhiAccrualDetector detector(&options);
  core::TimePoint now{std::chrono::hours(1)};
  for (int i = 0; i < 2000; ++i) {
    now += milliseconds(4900 + (i * 37) % 200);
    detector.Heartbeat(now);
  }
  int i = 0;
  for (auto _ : state) {
    now += milliseconds(4900 + (i++ * 37) % 200);
    detector.Heartbeat(now);
    double phi = detector.Phi(now + milliseconds(2500));
    benchmark::DoNotOptimize(phi);
  }
  state.counters["samples"] = detector.SampleCount();
}
BENCHMARK(BM_PhiAccrual_HeartbeatAndPhi);

// Phi alone, past mean + pause, so the exp/log path runs every time.
void BM_PhiAccrual_PhiLate(benchmark::State& state) {
  PhiAccrualOptions options;
  PhiAccrualDetector detector(&options);
  core::TimePoint now{std::chrono::hours(1)};
  for (int i = 0; i < 2000; ++i) {
    now += milliseconds(4900 + (i * 37) % 200);
    detector.Heartbeat(now);
  }
  core::TimePoint at = now + milliseconds(8100);
  for (auto _ : state) {
    benchmark::DoNotOptimize(at);
    double phi = detector.Phi(at);
    benchmark::DoNotOptimize(phi);
  }
}
BENCHMARK(BM_PhiAccrual_PhiLate);

}  // namespace
}  // namespace agentmesh::health
