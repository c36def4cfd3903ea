#include "agentmesh/core/thread_cache.h"

#include <array>

namespace agentmesh::core {
namespace {

constexpr std::size_t kGranule = 32;
constexpr std::size_t kClasses = kMaxCachedBlock / kGranule;
// Blocks kept per size class and thread: enough for the garbage of a burst of calls,
// small enough that an idle thread holds at most a few hundred KiB.
constexpr std::size_t kMaxPerClass = 256;

struct FreeBlock {
  FreeBlock* next;
};

struct Lists {
  std::array<FreeBlock*, kClasses> head{};
  std::array<std::size_t, kClasses> count{};
  ~Lists();
};

// Set once the thread's lists are destroyed: blocks freed later (by destructors that
// run at thread exit after the lists) go straight back to the heap.
thread_local bool lists_gone = false;

Lists::~Lists() {
  for (FreeBlock* b : head) {
    while (b != nullptr) {
      FreeBlock* next = b->next;
      ::operator delete(b);
      b = next;
    }
  }
  lists_gone = true;
}

Lists* ThisThread() {
  if (lists_gone) {
    return nullptr;
  }
  thread_local Lists lists;
  return &lists;
}

std::size_t ClassOf(std::size_t bytes) { return bytes == 0 ? 0 : (bytes - 1) / kGranule; }

}  // namespace

void* ThreadCacheAllocate(std::size_t bytes) {
  if (bytes > kMaxCachedBlock) {
    return ::operator new(bytes);
  }
  const std::size_t c = ClassOf(bytes);
  if (Lists* lists = ThisThread(); lists != nullptr && lists->head[c] != nullptr) {
    FreeBlock* b = lists->head[c];
    lists->head[c] = b->next;
    --lists->count[c];
    return b;
  }
  return ::operator new((c + 1) * kGranule);
}

void ThreadCacheDeallocate(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) {
    return;
  }
  if (bytes > kMaxCachedBlock) {
    ::operator delete(p);
    return;
  }
  const std::size_t c = ClassOf(bytes);
  Lists* lists = ThisThread();
  if (lists == nullptr || lists->count[c] >= kMaxPerClass) {
    ::operator delete(p);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = lists->head[c];
  lists->head[c] = b;
  ++lists->count[c];
}

}  // namespace agentmesh::core
