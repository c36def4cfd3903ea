#include "agentmesh/core/adaptive_mutex.h"

namespace agentmesh::core {

AdaptiveMutex::AdaptiveMutex() {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
  pthread_mutex_init(&mu_, &attr);
  pthread_mutexattr_destroy(&attr);
}

AdaptiveMutex::~AdaptiveMutex() { pthread_mutex_destroy(&mu_); }

}  // namespace agentmesh::core
