#include "agentmesh/core/check.h"

#include <cstdio>
#include <cstdlib>

namespace agentmesh::core {

void CheckFailed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "AM_CHECK failed: %s at %s:%d %s\n", expr, file, line, msg);
  std::fflush(stderr);
  std::abort();
}

}  // namespace agentmesh::core
