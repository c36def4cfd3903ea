// Membership at fleet scale: heartbeats and ticks over 10,000 instances, and the heap
// each instance costs (measured with mallinfo2 before and after).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "agentmesh/health/membership.h"

#include <malloc.h>

namespace agentmesh::health {
namespace {

using std::chrono::microseconds;

constexpr int kInstances = 10000;

std::string InstanceId(int i) { return "agent-instance-" + std::to_string(100000 + i); }

InstanceSpec Spec(int i) {
  InstanceSpec spec;
  spec.id = InstanceId(i);
  spec.agent = "ai-agent-orchestrator";
  spec.phase = 1 + i % 3;
  spec.domain = "architecture";
  spec.capabilities = {"orchestrate", "plan", "review"};
  spec.address = "127.0.0.1:" + std::to_string(10000 + i);
  spec.metadata = {{"region", "local"}, {"version", "1.2.3"}};
  return spec;
}

struct Fleet {
  explicit Fleet(core::TimePoint start) : membership(MembershipOptions{}, nullptr), now(start) {
    for (int i = 0; i < kInstances; ++i) {
      ids.push_back(InstanceId(i));
      membership.Register(Spec(i), now, core::WallTime{});
    }
  }
  // Heartbeats every instance once, spread evenly over one 5 s interval.
  void HeartbeatRound() {
    for (const std::string& id : ids) {
      now += microseconds(500);
      (void)membership.Heartbeat(id, LoadSample{0.5, 0.5, 1}, now, core::WallTime{});
    }
  }
  Membership membership;
  core::TimePoint now;
  std::vector<std::string> ids;
};

void BM_Membership_Heartbeat(benchmark::State& state) {
  Fleet fleet(core::TimePoint{std::chrono::hours(1)});
  fleet.HeartbeatRound();
  std::size_t i = 0;
  for (auto _ : state) {
    fleet.now += microseconds(500);  // each instance sees a 5 s interval
    core::Status s = fleet.membership.Heartbeat(fleet.ids[i], LoadSample{0.5, 0.5, 1}, fleet.now,
                                                core::WallTime{});
    benchmark::DoNotOptimize(s);
    i = i + 1 == fleet.ids.size() ? 0 : i + 1;
  }
}
BENCHMARK(BM_Membership_Heartbeat);

// What the server reads back after each heartbeat to answer {"status": ...}: the state
// alone, against building the whole view (the server did the latter before).
void BM_Membership_StateOf(benchmark::State& state) {
  Fleet fleet(core::TimePoint{std::chrono::hours(1)});
  fleet.HeartbeatRound();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fleet.membership.StateOf(fleet.ids[i]));
    i = i + 1 == fleet.ids.size() ? 0 : i + 1;
  }
}
BENCHMARK(BM_Membership_StateOf);

void BM_Membership_GetView(benchmark::State& state) {
  Fleet fleet(core::TimePoint{std::chrono::hours(1)});
  fleet.HeartbeatRound();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fleet.membership.Get(fleet.ids[i], fleet.now));
    i = i + 1 == fleet.ids.size() ? 0 : i + 1;
  }
}
BENCHMARK(BM_Membership_GetView);

void BM_Membership_Tick(benchmark::State& state) {
  Fleet fleet(core::TimePoint{std::chrono::hours(1)});
  fleet.HeartbeatRound();
  for (auto _ : state) {
    fleet.membership.Tick(fleet.now, core::WallTime{});
  }
  state.counters["instances"] = kInstances;
}
BENCHMARK(BM_Membership_Tick)->Unit(benchmark::kMicrosecond);

// Heap bytes per instance: registered with one heartbeat, then with a full 1000-sample
// phi window (about 83 minutes of 5 s heartbeats). Reported as counters.
void BM_Membership_MemoryPerInstance(benchmark::State& state) {
  for (auto _ : state) {
    std::size_t before = mallinfo2().uordblks;
    auto fleet = std::make_unique<Fleet>(core::TimePoint{std::chrono::hours(1)});
    fleet->HeartbeatRound();
    std::size_t fresh = mallinfo2().uordblks;
    for (int round = 0; round < 1000; ++round) {
      fleet->HeartbeatRound();
    }
    std::size_t full = mallinfo2().uordblks;
    // The ids vector belongs to the benchmark, not to the membership.
    std::size_t ids_bytes = fleet->ids.capacity() * sizeof(std::string);
    for (const std::string& id : fleet->ids) {
      ids_bytes += id.capacity() > 15 ? id.capacity() + 1 : 0;
    }
    state.counters["bytes_per_instance_fresh"] =
        static_cast<double>(fresh - before - ids_bytes) / kInstances;
    state.counters["bytes_per_instance_full_window"] =
        static_cast<double>(full - before - ids_bytes) / kInstances;
  }
}
BENCHMARK(BM_Membership_MemoryPerInstance)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace agentmesh::health
