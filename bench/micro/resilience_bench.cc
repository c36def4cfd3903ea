// Micro benchmarks of the gateway's per-request resilience cores.
#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "agentmesh/core/clock.h"
#include "agentmesh/resilience/bulkhead.h"
#include "agentmesh/resilience/circuit_breaker.h"
#include "agentmesh/resilience/rate_limiter.h"

namespace agentmesh::resilience {
namespace {

// A fixed start time; each iteration moves it a little, as real traffic does.
const core::TimePoint kStart{std::chrono::hours(1000)};
constexpr core::Duration kTick = std::chrono::microseconds(1);

void BM_CircuitBreaker_AllowAndRecord(benchmark::State& state) {
  CircuitBreaker breaker;
  core::TimePoint now = kStart;
  for (auto _ : state) {
    now += kTick;
    const bool allowed = breaker.Allow(now);
    benchmark::DoNotOptimize(allowed);
    breaker.OnSuccess(now);
  }
}
BENCHMARK(BM_CircuitBreaker_AllowAndRecord);

void BM_RateLimiter_Decide(benchmark::State& state) {
  // Generous quota so every decision takes the allow path, as most real ones do.
  KeyedRateLimiter limiter({.requests = 1'000'000'000, .window = std::chrono::seconds(1)});
  const std::string key = "agent-orchestrator";
  core::TimePoint now = kStart;
  for (auto _ : state) {
    now += kTick;
    benchmark::DoNotOptimize(limiter.Decide(key, now));
  }
}
BENCHMARK(BM_RateLimiter_Decide);

void BM_RateLimiter_DecideManyKeys(benchmark::State& state) {
  KeyedRateLimiter limiter({.requests = 1'000'000'000, .window = std::chrono::seconds(1)});
  std::vector<std::string> keys;
  constexpr int kKeys = 1000;
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back("agent-" + std::to_string(i));
  }
  core::TimePoint now = kStart;
  std::size_t next = 0;
  for (auto _ : state) {
    now += kTick;
    benchmark::DoNotOptimize(limiter.Decide(keys[next], now));
    next = next + 1 == keys.size() ? 0 : next + 1;
  }
}
BENCHMARK(BM_RateLimiter_DecideManyKeys);

void BM_Bulkhead_EnterExit(benchmark::State& state) {
  Bulkhead bulkhead;
  std::uint64_t ticket = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bulkhead.TryEnter(++ticket, Priority::kNormal));
    benchmark::DoNotOptimize(bulkhead.Exit());
  }
}
BENCHMARK(BM_Bulkhead_EnterExit);

}  // namespace
}  // namespace agentmesh::resilience
