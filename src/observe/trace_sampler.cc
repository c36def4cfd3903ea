#include "agentmesh/observe/trace_sampler.h"

#include <cmath>
#include <string>

#include "agentmesh/core/check.h"
#include "agentmesh/core/duration.h"

namespace agentmesh::observe {
namespace {

constexpr double kTwoPow64 = 18446744073709551616.0;

std::uint64_t LowerWord(const TraceId& id) {
  std::uint64_t word = 0;
  for (std::size_t i = TraceId::kSize - 8; i < TraceId::kSize; ++i) {
    word = word << 8 | id.bytes[i];
  }
  return word;
}

}  // namespace

core::Status Validate(const TraceSamplingOptions& options) {
  if (!(options.sampling_rate >= 0.0 && options.sampling_rate <= 1.0)) {
    return core::InvalidArgument(
        "invalid_sampling_rate",
        "sampling_rate must be between 0 and 1, got " + std::to_string(options.sampling_rate));
  }
  if (options.slow_threshold <= core::Duration::zero()) {
    return core::InvalidArgument(
        "invalid_slow_threshold",
        "slow_threshold must be positive, got " + core::FormatDuration(options.slow_threshold));
  }
  return core::OkStatus();
}

TraceSampler::TraceSampler(const TraceSamplingOptions& options) : options_(options) {
  AM_CHECK(Validate(options_).ok());
  const double bound = std::ldexp(options_.sampling_rate, 64);
  sample_all_ = bound >= kTwoPow64;
  threshold_ = sample_all_ ? 0 : static_cast<std::uint64_t>(bound);
}

bool TraceSampler::SampleHead(const std::optional<TraceContext>& parent, const TraceId& id) const {
  if (parent) {
    return parent->sampled;
  }
  return sample_all_ || LowerWord(id) < threshold_;
}

bool TraceSampler::Keep(bool head_sampled, bool error, core::Duration duration,
                        bool critical) const {
  return head_sampled || critical || (error && options_.always_sample_errors) ||
         duration > options_.slow_threshold;
}

}  // namespace agentmesh::observe
