// Hot paths of gateway tracing: parsing the incoming traceparent, the head sampling
// decision and recording a kept span.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "agentmesh/core/random.h"
#include "agentmesh/observe/trace_context.h"
#include "agentmesh/observe/trace_sampler.h"
#include "agentmesh/observe/trace_store.h"

namespace agentmesh::observe {
namespace {

void BM_Traceparent_Parse(benchmark::State& state) {
  const std::string header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  for (auto _ : state) {
    auto ctx = ParseTraceparent(header);
    benchmark::DoNotOptimize(ctx);
  }
}
BENCHMARK(BM_Traceparent_Parse);

void BM_Traceparent_Format(benchmark::State& state) {
  core::Random random(1);
  const TraceId trace = NewTraceId(random);
  const SpanId span = NewSpanId(random);
  for (auto _ : state) {
    std::string header = FormatTraceparent(trace, span, true);
    benchmark::DoNotOptimize(header);
  }
}
BENCHMARK(BM_Traceparent_Format);

void BM_TraceSampler_SampleHead(benchmark::State& state) {
  const TraceSampler sampler(TraceSamplingOptions{});
  core::Random random(2);
  std::vector<TraceId> ids(1024);
  for (auto& id : ids) {
    id = NewTraceId(random);
  }
  std::size_t i = 0;
  for (auto _ : state) {
    const bool sampled = sampler.SampleHead(std::nullopt, ids[i++ & 1023]);
    benchmark::DoNotOptimize(sampled);
  }
}
BENCHMARK(BM_TraceSampler_SampleHead);

// Records one root span per trace into a full store (the steady state: every new trace
// evicts the oldest one), with the attributes the gateway sets.
void BM_TraceStore_Record(benchmark::State& state) {
  TraceStore store(TraceStoreOptions{});
  core::Random random(3);
  core::WallTime start{};
  Span prototype;
  prototype.name = "GET /agents/{name}";
  prototype.duration = std::chrono::milliseconds(3);
  prototype.http_status = 200;
  prototype.attributes = {{"agent.id", "orch-1"},
                          {"agent.phase", "1"},
                          {"request.priority", "normal"},
                          {"operation.type", "proxy"}};
  for (auto _ : state) {
    Span span = prototype;
    span.trace_id = NewTraceId(random);
    span.span_id = NewSpanId(random);
    start += std::chrono::microseconds(1);
    span.start = start;
    store.Record(std::move(span));
  }
  benchmark::DoNotOptimize(store.size());
}
BENCHMARK(BM_TraceStore_Record);

}  // namespace
}  // namespace agentmesh::observe
