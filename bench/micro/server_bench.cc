// Hot-path pieces of a heartbeat request: routing, body parsing, metric updates.
#include <benchmark/benchmark.h>

#include "agentmesh/observe/metrics.h"
#include "agentmesh/server/json_codec.h"
#include "agentmesh/server/router.h"

namespace agentmesh::server {
namespace {

Router MakeRouter() {
  Router router;
  const auto ok = [](const Request&) { return Response{}; };
  for (const char* p : {"/v1/agents", "/health", "/metrics", "/debug/metrics", "/debug/health",
                        "/debug/events", "/v1/agents/{id}/history"}) {
    router.Add(Method::kGet, p, ok);
  }
  router.Add(Method::kGet, "/v1/agents/{id}", ok);
  router.Add(Method::kPut, "/v1/agents/{id}/heartbeat", ok);
  router.Add(Method::kPost, "/v1/agents/{id}/observations", ok);
  return router;
}

void BM_Router_MatchHeartbeat(benchmark::State& state) {
  const Router router = MakeRouter();
  Request req;
  for (auto _ : state) {
    RouteMatch m = router.Match(Method::kPut, "/v1/agents/ai-agent-orchestrator-1/heartbeat", &req);
    benchmark::DoNotOptimize(m.endpoint);
  }
}
BENCHMARK(BM_Router_MatchHeartbeat);

void BM_ParseLoadSample_FullBody(benchmark::State& state) {
  for (auto _ : state) {
    auto s = ParseLoadSample(R"({"cpu":0.3,"memory":0.5,"queue_depth":2})");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_ParseLoadSample_FullBody);

void BM_Histogram_Observe(benchmark::State& state) {
  observe::Registry registry;
  auto& h = registry
                .AddHistogram("agentmesh_bench_seconds", "Bench.", {"route"},
                              observe::DefaultLatencyBuckets())
                .WithLabels({"r"});
  for (auto _ : state) {
    h.Observe(0.0004);
  }
}
BENCHMARK(BM_Histogram_Observe)->Threads(1)->Threads(2);

}  // namespace
}  // namespace agentmesh::server
