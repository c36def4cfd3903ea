// TraceStore: the node's recent traces in memory, for GET /debug/traces and
// GET /v1/traces/{trace_id} (rules 10.1).
//
// The gateway records each kept span (the sampler decided); the store groups spans by
// trace, keeps the most recently started `max_traces` traces and at most
// `max_spans_per_trace` spans of each, and renders summaries and span trees as JSON.
// Owned by the composition root. Thread-safe: every method takes one internal mutex;
// JSON is built under it, so views are consistent snapshots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"
#include "agentmesh/core/thread_cache.h"
#include "agentmesh/observe/trace_context.h"

namespace agentmesh::observe {

// One hop: the work of one node on one request.
struct Span {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_id;             // all-zero for a root span
  std::string name;             // operation, e.g. "GET /agents/{name}"
  std::string kind = "server";  // OTLP kind name: internal, server, client, producer, consumer
  core::WallTime start;         // wall time, for display and export only
  core::Duration duration{};
  int http_status = 0;  // 0 when there was no HTTP response
  bool error = false;
  // agent.id, agent.name, agent.phase, request.priority, operation.type, http.method, ...
  // Keys are names fixed in the program (string literals): a span keeps only a view of
  // them, so that a kept span allocates for its values alone.
  std::vector<std::pair<std::string_view, std::string>> attributes;
};

struct TraceStoreOptions {
  // Traces kept; the earliest-started one is evicted first.
  std::size_t max_traces = 1000;
  // Spans kept per trace; later spans of a full trace are counted and dropped.
  std::size_t max_spans_per_trace = 256;
};

// Errors: kInvalidArgument invalid_max_traces / invalid_max_spans_per_trace (0 or
// above 1,000,000).
core::Status Validate(const TraceStoreOptions& options);

// A filter over recent traces; every set field must match.
struct TraceQuery {
  std::string agent;              // some span's agent.id or agent.name equals this; "" = any
  bool errors_only = false;       // some span has error set
  core::Duration min_duration{};  // the trace lasted at least this long
  std::size_t limit = 100;        // most summaries returned
};

class TraceStore {
 public:
  // Requires: Validate(options).ok().
  explicit TraceStore(const TraceStoreOptions& options);

  // Stores a kept span. Spans with an invalid trace id are ignored.
  void Record(Span span);

  // Returns summaries of the traces matching `query`, newest start first: trace_id,
  // root (name of the root span), start (RFC 3339), duration_ms, span_count,
  // dropped_spans, error, agents (distinct agent.id / agent.name values).
  boost::json::array Recent(const TraceQuery& query) const;

  // Returns {"trace_id", "span_count", "dropped_spans", "spans": [roots]} where each span
  // object has span_id, parent_id (null for a root), name, kind, start, duration_ms,
  // http_status, error, attributes {key: value} and "children" (by start time). Spans
  // whose parent is not in the store are roots. nullopt when the trace is unknown.
  std::optional<boost::json::object> Tree(const TraceId& trace_id) const;

  // Returns the number of traces held.
  std::size_t size() const;
  // Returns how many spans were dropped because their trace was full or evicted.
  std::uint64_t dropped_spans() const;

 private:
  // Orders traces by start; the sequence number breaks ties and keeps keys unique.
  using StartKey = std::pair<core::WallTime, std::uint64_t>;

  // The store's nodes come from per-thread free lists: a kept span is recorded at request
  // rate and, once the store is full, evicts a trace, so each record would otherwise cost
  // several mallocs and frees.
  template <typename T>
  using Alloc = core::ThreadCacheAllocator<T>;

  struct Trace {
    std::vector<Span, Alloc<Span>> spans;
    StartKey key;
    std::uint64_t dropped = 0;
  };

  const TraceStoreOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<TraceId, Trace, std::hash<TraceId>, std::equal_to<TraceId>,
                     Alloc<std::pair<const TraceId, Trace>>>
      traces_;
  std::map<StartKey, TraceId, std::less<StartKey>, Alloc<std::pair<const StartKey, TraceId>>>
      by_start_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t dropped_spans_ = 0;
};

}  // namespace agentmesh::observe
