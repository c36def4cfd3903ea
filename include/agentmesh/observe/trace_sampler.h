// TraceSampler: which requests are traced and which finished spans are kept (rules 10.1).
//
// Head sampling is parent-based, as OpenTelemetry's ParentBased(TraceIdRatioBased): a
// caller's sampled flag is honoured either way, and a new trace is sampled from its
// trace id alone, so every node decides the same for the same trace. Tail rules keep
// errors, slow requests and critical operations even when the head said no. Owned by
// the gateway; immutable after construction, so thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"
#include "agentmesh/observe/trace_context.h"

namespace agentmesh::observe {

struct TraceSamplingOptions {
  // Fraction of new traces sampled at the head, in [0, 1] (rules 10.1: 10 %).
  double sampling_rate = 0.1;
  // Spans longer than this are kept whatever the head said (rules 10.1: 5 s).
  core::Duration slow_threshold = std::chrono::seconds(5);
  // Keeps every failed span whatever the head said (rules 10.1: errors always sampled).
  bool always_sample_errors = true;
};

// Errors: kInvalidArgument invalid_sampling_rate (not in [0, 1]) or
// invalid_slow_threshold (not positive).
core::Status Validate(const TraceSamplingOptions& options);

class TraceSampler {
 public:
  // Requires: Validate(options).ok().
  explicit TraceSampler(const TraceSamplingOptions& options);

  // Decides at the head whether the trace of `id` is sampled: the parent's flag when
  // there is a parent, else whether the lower 8 bytes of `id` (big-endian) are below
  // sampling_rate * 2^64.
  bool SampleHead(const std::optional<TraceContext>& parent, const TraceId& id) const;

  // Returns whether a finished span is kept: head-sampled, an error (when
  // always_sample_errors), slower than slow_threshold, or a critical operation.
  bool Keep(bool head_sampled, bool error, core::Duration duration, bool critical) const;

  const TraceSamplingOptions& options() const { return options_; }

 private:
  TraceSamplingOptions options_;
  bool sample_all_ = false;      // sampling_rate >= 1: 2^64 does not fit the threshold
  std::uint64_t threshold_ = 0;  // new traces below this are sampled
};

}  // namespace agentmesh::observe
