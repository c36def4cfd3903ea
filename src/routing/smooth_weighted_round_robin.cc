#include "agentmesh/routing/smooth_weighted_round_robin.h"

#include <cmath>

namespace agentmesh::routing {

void SmoothWeightedRoundRobin::SetWeights(std::span<const double> weights) {
  slots_.resize(weights.size());
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double w = weights[i];
    slots_[i].weight = (w > 0 && std::isfinite(w)) ? w : 0.0;
  }
}

void SmoothWeightedRoundRobin::Reset() {
  for (Slot& slot : slots_) {
    slot.current = 0;
  }
}

int SmoothWeightedRoundRobin::Pick() {
  return Pick([](int) { return true; });
}

}  // namespace agentmesh::routing
