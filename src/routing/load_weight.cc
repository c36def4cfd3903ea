#include "agentmesh/routing/load_weight.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace agentmesh::routing {
namespace {

// Tolerance for the weights summing to 1, so 0.4 + 0.3 + 0.3 in floating point passes.
constexpr double kWeightSumTolerance = 1e-6;

core::Status Invalid(const std::string& field, const std::string& message) {
  return core::InvalidArgument("invalid_load_weight_options",
                               "load_weight." + field + " " + message);
}

// Returns x clamped to [0, hi]; NaN becomes 0.
double ClampNonNegative(double x, double hi) { return x > 0 ? std::min(x, hi) : 0.0; }

}  // namespace

core::Status Validate(const LoadWeightOptions& options) {
  const struct {
    const char* name;
    double value;
  } weights[] = {{"cpu_weight", options.cpu_weight},
                 {"memory_weight", options.memory_weight},
                 {"queue_weight", options.queue_weight}};
  double sum = 0;
  for (const auto& w : weights) {
    if (!(w.value >= 0) || !std::isfinite(w.value)) {
      return Invalid(w.name, "must be a finite number >= 0, got " + std::to_string(w.value));
    }
    sum += w.value;
  }
  if (std::abs(sum - 1.0) > kWeightSumTolerance) {
    return Invalid("cpu_weight", "cpu_weight + memory_weight + queue_weight must sum to 1, got " +
                                     std::to_string(sum));
  }
  if (!(options.queue_saturation > 0) || !std::isfinite(options.queue_saturation)) {
    return Invalid("queue_saturation",
                   "must be a positive number, got " + std::to_string(options.queue_saturation));
  }
  if (!(options.min_fraction >= 0 && options.min_fraction <= 1)) {
    return Invalid("min_fraction",
                   "must be between 0 and 1, got " + std::to_string(options.min_fraction));
  }
  return core::OkStatus();
}

double EffectiveWeight(const LoadWeightOptions& options, double base_weight, double cpu,
                       double memory, double queue_depth) {
  const double base = ClampNonNegative(base_weight, HUGE_VAL);
  const double queue = ClampNonNegative(queue_depth / options.queue_saturation, 1.0);
  const double load = options.cpu_weight * ClampNonNegative(cpu, 1.0) +
                      options.memory_weight * ClampNonNegative(memory, 1.0) +
                      options.queue_weight * queue;
  return base * std::max(options.min_fraction, 1.0 - load);
}

}  // namespace agentmesh::routing
