// SmoothWeightedRoundRobin: nginx's smooth weighted round robin over the instances of
// one agent (rules 8.1: weights from CPU, memory and queue depth, see load_weight.h).
//
// Each Pick adds every eligible candidate's weight to its current weight, picks the
// largest current weight (first index wins a tie) and subtracts the eligible total from
// it. Over a cycle every candidate is picked in proportion to its weight, interleaved
// rather than in bursts ({5, 1, 1} gives a a b a c a a). Owned by the gateway, one per
// agent. Not thread-safe: the caller holds a lock or keeps one per thread. Pick never
// allocates.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace agentmesh::routing {

class SmoothWeightedRoundRobin {
 public:
  // Sets the weights, one per candidate (index 0..n-1). Keeps the current weights of
  // indices that still exist, so a weight refresh does not restart the rotation; new
  // indices start at 0. A negative or non-finite weight counts as 0 (never picked).
  void SetWeights(std::span<const double> weights);

  // Returns the number of candidates.
  std::size_t size() const { return slots_.size(); }

  // Returns the configured weight of candidate `index` (after sanitising), for debug views.
  double weight(std::size_t index) const { return slots_[index].weight; }
  // Returns the current (rotation) weight of candidate `index`, for debug views.
  double current_weight(std::size_t index) const { return slots_[index].current; }

  // Zeroes the current weights, restarting the rotation.
  void Reset();

  // Picks a candidate for which `eligible(int index)` is true. Ineligible candidates keep
  // their current weight and the others keep their proportions. Returns -1 if no
  // candidate with a positive weight is eligible.
  template <typename Eligible>
  int Pick(Eligible&& eligible);

  // Picks among all candidates.
  int Pick();

 private:
  struct Slot {
    double weight = 0;
    double current = 0;
  };

  std::vector<Slot> slots_;
};

template <typename Eligible>
int SmoothWeightedRoundRobin::Pick(Eligible&& eligible) {
  const int n = static_cast<int>(slots_.size());
  double total = 0;
  int best = -1;
  double best_current = 0;
  for (int i = 0; i < n; ++i) {
    Slot& slot = slots_[i];
    if (slot.weight <= 0 || !eligible(i)) {
      continue;
    }
    slot.current += slot.weight;
    total += slot.weight;
    if (best < 0 || slot.current > best_current) {
      best = i;
      best_current = slot.current;
    }
  }
  if (best >= 0) {
    slots_[best].current -= total;
  }
  return best;
}

}  // namespace agentmesh::routing
