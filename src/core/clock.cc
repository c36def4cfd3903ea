#include "agentmesh/core/clock.h"

namespace agentmesh::core {

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace agentmesh::core
