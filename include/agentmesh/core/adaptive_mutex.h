// AdaptiveMutex: a mutex for critical sections of a few hundred nanoseconds that the IO
// threads all pass through (a route's breakers and bulkhead, a rate-limit shard).
//
// A contended std::mutex puts the waiter to sleep on a futex, and waking it costs two
// context switches, far more than the section it waited for. glibc's adaptive mutex
// spins briefly first, so such waits end without sleeping. Meets Lockable, for
// std::lock_guard and std::unique_lock.
#pragma once

#include <pthread.h>

namespace agentmesh::core {

class AdaptiveMutex {
 public:
  AdaptiveMutex();
  ~AdaptiveMutex();
  AdaptiveMutex(const AdaptiveMutex&) = delete;
  AdaptiveMutex& operator=(const AdaptiveMutex&) = delete;

  void lock() { pthread_mutex_lock(&mu_); }
  bool try_lock() { return pthread_mutex_trylock(&mu_) == 0; }
  void unlock() { pthread_mutex_unlock(&mu_); }

 private:
  pthread_mutex_t mu_;
};

}  // namespace agentmesh::core
