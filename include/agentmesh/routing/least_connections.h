// LeastConnections: picks the instance with the fewest requests in flight, scaled by its
// health (rules 8.1: for long-running operations, health-based weighting).
//
// The score is (in_flight + 1) / health_factor, so a recovering instance (factor 0.5)
// gets about half the load of a healthy one (factor 1). Ties are broken by rotating the
// starting index, so equal candidates share the load evenly. The caller owns the
// in-flight counters and passes them on every Pick. Owned by the gateway, one per agent.
// Not thread-safe: the caller holds a lock or keeps one per thread. Pick never allocates.
#pragma once

#include <cstddef>
#include <span>

namespace agentmesh::routing {

struct LeastConnectionsCandidate {
  // Requests currently in flight to this instance (>= 0).
  int in_flight;
  // 1 for healthy, e.g. 0.5 while recovering; <= 0 (or NaN) is never picked.
  double health_factor;
};

class LeastConnections {
 public:
  // Picks the candidate with the smallest (in_flight + 1) / health_factor among those
  // for which `eligible(int index)` is true; the first one at or after a rotating start
  // index wins a tie. Returns -1 if none is eligible with a positive health factor.
  template <typename Eligible>
  int Pick(std::span<const LeastConnectionsCandidate> candidates, Eligible&& eligible);

  // Picks among all candidates.
  int Pick(std::span<const LeastConnectionsCandidate> candidates);

 private:
  std::size_t next_start_ = 0;
};

template <typename Eligible>
int LeastConnections::Pick(std::span<const LeastConnectionsCandidate> candidates,
                           Eligible&& eligible) {
  const std::size_t n = candidates.size();
  if (n == 0) {
    return -1;
  }
  std::size_t index = next_start_ < n ? next_start_ : 0;
  next_start_ = index + 1;
  int best = -1;
  // A division per candidate is cheaper than comparing cross products: the divisions are
  // independent of each other, while cross products chain on the running best.
  double best_score = 0;
  for (std::size_t k = 0; k < n; ++k, ++index) {
    if (index == n) {
      index = 0;
    }
    const LeastConnectionsCandidate& c = candidates[index];
    if (!(c.health_factor > 0) || !eligible(static_cast<int>(index))) {
      continue;
    }
    const double score = (static_cast<double>(c.in_flight) + 1.0) / c.health_factor;
    if (best < 0 || score < best_score) {
      best = static_cast<int>(index);
      best_score = score;
    }
  }
  return best;
}

}  // namespace agentmesh::routing
