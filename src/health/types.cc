#include "agentmesh/health/types.h"

namespace agentmesh::health {

std::string_view HealthStateName(HealthState state) {
  switch (state) {
    case HealthState::kHealthy:
      return "healthy";
    case HealthState::kSuspect:
      return "suspect";
    case HealthState::kUnhealthy:
      return "unhealthy";
    case HealthState::kRecovering:
      return "recovering";
    case HealthState::kLeft:
      return "left";
  }
  return "unknown";
}

std::optional<HealthState> ParseHealthState(std::string_view name) {
  for (HealthState state : kAllHealthStates) {
    if (HealthStateName(state) == name) {
      return state;
    }
  }
  return std::nullopt;
}

}  // namespace agentmesh::health
