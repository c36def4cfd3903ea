#include "agentmesh/core/thread_cache.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace agentmesh::core {
namespace {

TEST(ThreadCacheTest, AFreedBlockIsReusedForTheSameSizeClass) {
  void* a = ThreadCacheAllocate(40);
  ThreadCacheDeallocate(a, 40);
  // 40 and 60 bytes share the 64-byte class; the most recently freed block comes back.
  void* b = ThreadCacheAllocate(60);
  EXPECT_EQ(a, b);
  ThreadCacheDeallocate(b, 60);
}

TEST(ThreadCacheTest, SizeClassesDoNotMix) {
  void* small = ThreadCacheAllocate(16);
  ThreadCacheDeallocate(small, 16);
  void* large = ThreadCacheAllocate(500);
  EXPECT_NE(small, large);
  std::memset(large, 0xab, 500);  // the whole block is usable (checked under ASan)
  ThreadCacheDeallocate(large, 500);
}

TEST(ThreadCacheTest, BlocksAreAlignedAndDistinctWhileLive) {
  std::vector<void*> live;
  for (std::size_t bytes = 1; bytes <= kMaxCachedBlock + 64; bytes += 7) {
    void* p = ThreadCacheAllocate(bytes);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % __STDCPP_DEFAULT_NEW_ALIGNMENT__, 0u);
    std::memset(p, 0x5a, bytes);
    live.push_back(p);
  }
  std::vector<void*> sorted = live;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  std::size_t bytes = 1;
  for (void* p : live) {
    ThreadCacheDeallocate(p, bytes);
    bytes += 7;
  }
}

TEST(ThreadCacheTest, BlocksMayBeFreedOnAnotherThread) {
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) {
    blocks.push_back(ThreadCacheAllocate(64));
  }
  // The other thread caches some and returns the rest to the heap; its lists are freed
  // when it exits (ASan and LSan see any block lost or freed twice).
  std::thread([&blocks] {
    for (void* p : blocks) {
      ThreadCacheDeallocate(p, 64);
    }
  }).join();
}

TEST(ThreadCacheAllocatorTest, ServesStandardContainers) {
  using Alloc = ThreadCacheAllocator<std::pair<const std::string, int>>;
  std::map<std::string, int, std::less<>, Alloc> m;
  for (int i = 0; i < 100; ++i) {
    m.emplace("key-" + std::to_string(i), i);
  }
  EXPECT_EQ(m.size(), 100u);
  EXPECT_EQ(m.at("key-42"), 42);
  EXPECT_TRUE(Alloc() == ThreadCacheAllocator<char>());
}

}  // namespace
}  // namespace agentmesh::core
