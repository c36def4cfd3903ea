#include "agentmesh/routing/consistent_hash_ring.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "agentmesh/core/random.h"

namespace agentmesh::routing {
namespace {

constexpr int kKeys = 100'000;

std::vector<std::string> Ids(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back("instance-" + std::to_string(i));
  }
  return ids;
}

std::string Key(int i) { return "req-" + std::to_string(i); }

// Returns the instance id owning each of kKeys keys.
std::vector<std::string> Owners(const std::vector<std::string>& ids) {
  ConsistentHashRing ring;
  ring.Build(ids);
  std::vector<std::string> owners;
  owners.reserve(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    owners.push_back(ids.at(ring.Lookup(HashKey(Key(i)))));
  }
  return owners;
}

TEST(HashKeyTest, MatchesXxHash64ReferenceValues) {
  EXPECT_EQ(HashKey(""), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(HashKey("a"), 0xD24EC4F1A98C6E5Bull);
  EXPECT_EQ(HashKey("abc"), 0x44BC2CF5AD770999ull);
  EXPECT_EQ(HashKey("instance-7#42"), 0x0AB36EE3B42F3CABull);
  EXPECT_EQ(HashKey("req-0123456789ab"), 0x73C8312D2A7C50D0ull);
  EXPECT_EQ(HashKey("The quick brown fox jumps over the lazy dog, twice over!"),
            0x0709FB4A3913333Dull);
}

TEST(ConsistentHashRingTest, EmptyRingReturnsMinusOne) {
  ConsistentHashRing ring;
  EXPECT_EQ(ring.Lookup(42), -1);
  EXPECT_EQ(ring.Lookup(42, [](int) { return true; }), -1);
  ring.Build({});
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_EQ(ring.Lookup(42), -1);
}

TEST(ConsistentHashRingTest, BuildPlaces150VirtualNodesPerCandidate) {
  ConsistentHashRing ring;
  ring.Build(Ids(69));
  EXPECT_EQ(ring.size(), 69u);
  EXPECT_EQ(ring.points(), 69u * 150u);
  ring.Build(Ids(3), 10);
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.points(), 30u);
}

TEST(ConsistentHashRingTest, LookupMatchesFirstPointAtOrAfterHashWrapping) {
  for (int n : {1, 2, 5, 69}) {
    const std::vector<std::string> ids = Ids(n);
    constexpr int kVirtualNodes = 150;
    ConsistentHashRing ring;
    ring.Build(ids, kVirtualNodes);
    std::vector<std::pair<std::uint64_t, int>> points;
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < kVirtualNodes; ++k) {
        points.emplace_back(HashKey(ids[i] + "#" + std::to_string(k)), i);
      }
    }
    std::sort(points.begin(), points.end());
    const auto expected = [&](std::uint64_t hash) {
      const auto it = std::lower_bound(points.begin(), points.end(), std::make_pair(hash, -1));
      return it == points.end() ? points.front().second : it->second;
    };
    std::vector<std::uint64_t> probes = {0, 1, std::numeric_limits<std::uint64_t>::max()};
    for (const auto& [hash, owner] : points) {
      probes.push_back(hash);
      probes.push_back(hash - 1);
      probes.push_back(hash + 1);
    }
    core::Random random(7);
    for (int i = 0; i < 20'000; ++i) {
      probes.push_back(random.Next());
    }
    for (std::uint64_t hash : probes) {
      ASSERT_EQ(ring.Lookup(hash), expected(hash)) << "n=" << n << " hash=" << hash;
    }
  }
}

TEST(ConsistentHashRingTest, DistributesKeysEvenlyAcrossTenInstances) {
  const std::vector<std::string> ids = Ids(10);
  ConsistentHashRing ring;
  ring.Build(ids);
  std::vector<int> counts(ids.size());
  for (int i = 0; i < kKeys; ++i) {
    ++counts.at(ring.LookupKey(Key(i)));
  }
  const double mean = static_cast<double>(kKeys) / ids.size();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_GT(counts[i], 0.7 * mean) << ids[i];
    EXPECT_LT(counts[i], 1.3 * mean) << ids[i];
  }
}

TEST(ConsistentHashRingTest, SameIdsGiveSameMapping) {
  const std::vector<std::string> ids = Ids(7);
  EXPECT_EQ(Owners(ids), Owners(ids));
  // The mapping depends on the ids, not their order.
  std::vector<std::string> reversed(ids.rbegin(), ids.rend());
  EXPECT_EQ(Owners(ids), Owners(reversed));
}

TEST(ConsistentHashRingTest, RemovingOneInstanceMovesOnlyItsKeys) {
  constexpr int kN = 10;
  const std::vector<std::string> ids = Ids(kN);
  std::vector<std::string> fewer = ids;
  const std::string removed = fewer[3];
  fewer.erase(fewer.begin() + 3);
  const std::vector<std::string> before = Owners(ids);
  const std::vector<std::string> after = Owners(fewer);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (before[i] != after[i]) {
      ++moved;
      EXPECT_EQ(before[i], removed) << Key(i);
    } else {
      EXPECT_NE(before[i], removed);
    }
  }
  const double fraction = static_cast<double>(moved) / kKeys;
  EXPECT_GT(fraction, 0.5 / kN);
  EXPECT_LT(fraction, 1.5 / kN);
}

TEST(ConsistentHashRingTest, AddingOneInstanceMovesAboutOneInNPlusOneKeysToIt) {
  constexpr int kN = 10;
  const std::vector<std::string> ids = Ids(kN);
  std::vector<std::string> more = ids;
  more.push_back("instance-new");
  const std::vector<std::string> before = Owners(ids);
  const std::vector<std::string> after = Owners(more);
  int moved = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (before[i] != after[i]) {
      ++moved;
      EXPECT_EQ(after[i], "instance-new") << Key(i);
    }
  }
  const double fraction = static_cast<double>(moved) / kKeys;
  EXPECT_GT(fraction, 0.5 / (kN + 1));
  EXPECT_LT(fraction, 1.5 / (kN + 1));
}

TEST(ConsistentHashRingTest, EligibleWalkSkipsIneligibleOwner) {
  const std::vector<std::string> ids = Ids(5);
  ConsistentHashRing ring;
  ring.Build(ids);
  ConsistentHashRing without;
  std::vector<std::string> fewer = ids;
  fewer.erase(fewer.begin() + 2);
  without.Build(fewer);
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t hash = HashKey(Key(i));
    const int owner = ring.Lookup(hash);
    const int walked = ring.Lookup(hash, [](int index) { return index != 2; });
    ASSERT_NE(walked, 2);
    ASSERT_GE(walked, 0);
    if (owner != 2) {
      EXPECT_EQ(walked, owner);
    }
    // Skipping an owner lands where its keys go once it leaves the ring.
    EXPECT_EQ(ids[walked], fewer[without.Lookup(hash)]);
  }
}

TEST(ConsistentHashRingTest, EligibleWalkAsksEachCandidateOnceAndFailsWhenNoneEligible) {
  ConsistentHashRing ring;
  ring.Build(Ids(8));
  std::vector<int> asked(8);
  const int pick = ring.Lookup(HashKey("k"), [&](int index) {
    ++asked.at(index);
    return false;
  });
  EXPECT_EQ(pick, -1);
  for (int count : asked) {
    EXPECT_EQ(count, 1);
  }
}

TEST(ConsistentHashRingTest, EligibleWalkReachesLastEligibleCandidate) {
  ConsistentHashRing ring;
  ring.Build(Ids(20));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(ring.Lookup(HashKey(Key(i)), [](int index) { return index == 13; }), 13);
  }
}

}  // namespace
}  // namespace agentmesh::routing
