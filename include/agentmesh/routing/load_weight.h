// EffectiveWeight: turns an instance's load sample into its weighted-round-robin weight
// (rules 8.1: CPU 40%, memory 30%, queue depth 30%).
//
// A pure function over plain values; the gateway computes the weights when load samples
// arrive and hands them to SmoothWeightedRoundRobin::SetWeights. Thread-safe (no state).
#pragma once

#include "agentmesh/core/status.h"

namespace agentmesh::routing {

struct LoadWeightOptions {
  // Share of the load score taken by CPU utilisation (rules 8.1: 40%).
  double cpu_weight = 0.4;
  // Share of the load score taken by memory utilisation (rules 8.1: 30%).
  double memory_weight = 0.3;
  // Share of the load score taken by queue depth (rules 8.1: 30%).
  double queue_weight = 0.3;
  // Queue depth counted as fully loaded; deeper queues score the same.
  double queue_saturation = 100;
  // Fraction of its base weight a fully loaded instance keeps, so it still gets some
  // traffic and its load samples stay fresh.
  double min_fraction = 0.05;
};

// Errors: kInvalidArgument naming the offending field: a negative or non-finite weight,
// weights not summing to 1 (within 1e-6), queue_saturation not positive, min_fraction
// outside [0, 1].
core::Status Validate(const LoadWeightOptions& options);

// Returns base_weight * max(min_fraction, 1 - load), where load is
// cpu_weight * cpu + memory_weight * memory + queue_weight * min(1, queue_depth / saturation).
// Inputs outside their range are clamped (cpu and memory to [0, 1], queue_depth and
// base_weight to >= 0); NaN counts as 0 load and 0 base weight.
// Requires: Validate(options).ok().
double EffectiveWeight(const LoadWeightOptions& options, double base_weight, double cpu,
                       double memory, double queue_depth);

}  // namespace agentmesh::routing
