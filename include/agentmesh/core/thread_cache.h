// ThreadCacheAllocator: small blocks recycled through per-thread free lists.
//
// For objects made and dropped at request rate, such as the header fields of an HTTP
// parser (about ten small blocks per proxied call). glibc's own per-thread cache keeps
// only 7 blocks per size, so a burst of them falls through to the arena lock, which the
// IO threads then contend for. Blocks come from ::operator new and any thread may free
// any block: a freed block joins the freeing thread's list, or is returned to the heap
// when that list is full. Blocks above kMaxCachedBlock bytes are not cached.
#pragma once

#include <cstddef>
#include <new>

namespace agentmesh::core {

inline constexpr std::size_t kMaxCachedBlock = 1024;

// Returns `bytes` of storage aligned for any fundamental type; throws std::bad_alloc.
void* ThreadCacheAllocate(std::size_t bytes);
// Frees storage from ThreadCacheAllocate(bytes) with the same `bytes`.
void ThreadCacheDeallocate(void* p, std::size_t bytes) noexcept;

template <typename T>
class ThreadCacheAllocator {
 public:
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  using value_type = T;

  ThreadCacheAllocator() = default;
  template <typename U>
  ThreadCacheAllocator(const ThreadCacheAllocator<U>&) noexcept {}  // NOLINT: rebinding

  T* allocate(std::size_t n) { return static_cast<T*>(ThreadCacheAllocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { ThreadCacheDeallocate(p, n * sizeof(T)); }

  template <typename U>
  friend bool operator==(const ThreadCacheAllocator&, const ThreadCacheAllocator<U>&) {
    return true;
  }
};

}  // namespace agentmesh::core
