// Load-balancer hot paths: one pick or ring lookup per iteration, as the gateway runs
// them on every proxied request.
#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "agentmesh/core/random.h"
#include "agentmesh/routing/consistent_hash_ring.h"
#include "agentmesh/routing/least_connections.h"
#include "agentmesh/routing/smooth_weighted_round_robin.h"

namespace agentmesh::routing {
namespace {

constexpr int kRingInstances = 69;
// Power of two, larger than the ring, so lookups do not replay a cache-warm handful.
constexpr std::size_t kKeyPool = 1 << 14;

std::vector<std::string> InstanceIds(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back("agent-" + std::to_string(i / 3) + "-instance-" + std::to_string(i));
  }
  return ids;
}

// 16-character request ids drawn from a seeded generator.
std::vector<std::string> RequestIds(std::size_t n) {
  static constexpr char kAlphabet[] = "0123456789abcdef";
  core::Random random(42);
  std::vector<std::string> keys(n, std::string(16, '0'));
  for (std::string& key : keys) {
    for (char& c : key) {
      c = kAlphabet[random.Below(16)];
    }
  }
  return keys;
}

// Ring of 69 instances x 150 virtual nodes; the key hash is precomputed.
void BM_ConsistentHashRing_Lookup(benchmark::State& state) {
  ConsistentHashRing ring;
  ring.Build(InstanceIds(kRingInstances));
  std::vector<std::uint64_t> hashes;
  for (const std::string& key : RequestIds(kKeyPool)) {
    hashes.push_back(HashKey(key));
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.Lookup(hashes[i++ & (kKeyPool - 1)]));
  }
  state.counters["points"] = static_cast<double>(ring.points());
}
BENCHMARK(BM_ConsistentHashRing_Lookup);

// Same ring, hashing a 16-character request id on every lookup.
void BM_ConsistentHashRing_HashAndLookup(benchmark::State& state) {
  ConsistentHashRing ring;
  ring.Build(InstanceIds(kRingInstances));
  const std::vector<std::string> keys = RequestIds(kKeyPool);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ring.LookupKey(keys[i++ & (kKeyPool - 1)]));
  }
}
BENCHMARK(BM_ConsistentHashRing_HashAndLookup);

// Same ring with one instance in ten ineligible, so some lookups walk past an owner.
void BM_ConsistentHashRing_LookupEligible(benchmark::State& state) {
  ConsistentHashRing ring;
  ring.Build(InstanceIds(kRingInstances));
  std::vector<std::uint64_t> hashes;
  for (const std::string& key : RequestIds(kKeyPool)) {
    hashes.push_back(HashKey(key));
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        ring.Lookup(hashes[i++ & (kKeyPool - 1)], [](int index) { return index % 10 != 0; }));
  }
}
BENCHMARK(BM_ConsistentHashRing_LookupEligible);

// HashKey alone on a 16-character request id.
void BM_HashKey_RequestId(benchmark::State& state) {
  const std::vector<std::string> keys = RequestIds(kKeyPool);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(HashKey(keys[i++ & (kKeyPool - 1)]));
  }
}
BENCHMARK(BM_HashKey_RequestId);

// Smooth WRR over state.range(0) candidates with unequal weights, all eligible but
// going through the eligibility predicate as the gateway does.
void BM_SmoothWrr_Pick(benchmark::State& state) {
  const auto n = static_cast<int>(state.range(0));
  std::vector<double> weights;
  for (int i = 0; i < n; ++i) {
    weights.push_back(1.0 + (i * 7) % 5);
  }
  SmoothWeightedRoundRobin wrr;
  wrr.SetWeights(weights);
  std::vector<char> healthy(static_cast<std::size_t>(n), 1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(wrr.Pick([&](int index) { return healthy[index] != 0; }));
  }
}
BENCHMARK(BM_SmoothWrr_Pick)->Arg(3)->Arg(10);

// Least connections over 10 candidates; the caller's in-flight counts change each pick.
void BM_LeastConnections_Pick(benchmark::State& state) {
  std::vector<LeastConnectionsCandidate> candidates;
  for (int i = 0; i < 10; ++i) {
    candidates.push_back({(i * 3) % 7, i == 4 ? 0.5 : 1.0});
  }
  LeastConnections lc;
  for (auto _ : state) {
    const int pick = lc.Pick(candidates);
    benchmark::DoNotOptimize(pick);
    ++candidates[pick].in_flight;
    --candidates[(pick + 5) % 10].in_flight;
  }
}
BENCHMARK(BM_LeastConnections_Pick);

}  // namespace
}  // namespace agentmesh::routing
