// AM_CHECK: a broken invariant is a bug, not an error. It aborts with a message.
#pragma once

namespace agentmesh::core {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line, const char* msg);
}  // namespace agentmesh::core

#define AM_CHECK(cond)                                                           \
  do {                                                                           \
    if (!(cond)) [[unlikely]] {                                                  \
      ::agentmesh::core::CheckFailed(#cond, __FILE__, __LINE__, "");             \
    }                                                                            \
  } while (0)

#define AM_CHECK_MSG(cond, msg)                                                  \
  do {                                                                           \
    if (!(cond)) [[unlikely]] {                                                  \
      ::agentmesh::core::CheckFailed(#cond, __FILE__, __LINE__, (msg));          \
    }                                                                            \
  } while (0)
