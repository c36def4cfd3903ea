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

// Builds a root span as the gateway does for a kept call (the same attributes) and
// records it into a full store: the steady state, where every new trace evicts the
// oldest one.
void BM_TraceStore_Record(benchmark::State& state) {
  TraceStore store(TraceStoreOptions{});
  core::Random random(3);
  core::WallTime start{};
  const std::string correlation_id = "5f0c6a8e-2b1d-4c3e-9f7a-1d2e3f4a5b6c";
  for (auto _ : state) {
    Span span;
    span.trace_id = NewTraceId(random);
    span.span_id = NewSpanId(random);
    span.name = std::string("GET") + " /agents/" + "orchestrator";
    start += std::chrono::microseconds(1);
    span.start = start;
    span.duration = std::chrono::milliseconds(3);
    span.http_status = 200;
    span.attributes.reserve(12);
    span.attributes.emplace_back("agent.name", "orchestrator");
    span.attributes.emplace_back("agent.id", "orchestrator-1");
    span.attributes.emplace_back("agent.phase", std::to_string(1));
    span.attributes.emplace_back("request.priority", "normal");
    span.attributes.emplace_back("operation.type", "proxy");
    span.attributes.emplace_back("http.method", "GET");
    span.attributes.emplace_back("http.target", "/v1/plan");
    span.attributes.emplace_back("http.status_code", std::to_string(200));
    span.attributes.emplace_back("correlation_id", correlation_id);
    span.attributes.emplace_back("caller", "127.0.0.1");
    span.attributes.emplace_back("attempts", std::to_string(1));
    store.Record(std::move(span));
  }
  benchmark::DoNotOptimize(store.size());
}
BENCHMARK(BM_TraceStore_Record);

}  // namespace
}  // namespace agentmesh::observe
