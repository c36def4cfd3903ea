// ConsistentHashRing: consistent hashing of request keys onto the instances of one agent
// (rules 8.1: for stateful operations, keyed by request id, 150 virtual nodes).
//
// Each candidate owns `virtual_nodes` points on a 64-bit ring; a key belongs to the owner
// of the first point at or after its hash, wrapping around. Adding or removing one of N
// instances moves only about 1/N of the keys, and only to or from that instance. HashKey
// is xxHash64 (seed 0), so the mapping is the same on every platform and run. Owned by
// the gateway, rebuilt when membership changes. Build allocates; Lookup is const, never
// allocates and may run concurrently with other Lookups, but not with Build.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agentmesh::routing {

// Returns the xxHash64 (seed 0) of the bytes of `key`: stable across platforms and runs.
std::uint64_t HashKey(std::string_view key);

class ConsistentHashRing {
 public:
  // Virtual nodes per candidate (rules 8.1: 150).
  static constexpr int kDefaultVirtualNodes = 150;

  // Builds the ring: candidate i (instance id ids[i]) gets `virtual_nodes` points at
  // HashKey(ids[i] + "#" + k) for k in 0..virtual_nodes-1. Replaces any previous ring.
  // Requires: virtual_nodes >= 1.
  void Build(std::span<const std::string> ids, int virtual_nodes = kDefaultVirtualNodes);

  // Returns the number of candidates.
  std::size_t size() const { return size_; }
  // Returns the number of points on the ring (size() * virtual_nodes).
  std::size_t points() const { return points_.size(); }

  // Returns the candidate owning `key_hash` (first point >= key_hash, wrapping), or -1 if
  // the ring is empty.
  int Lookup(std::uint64_t key_hash) const {
    if (points_.empty()) {
      return -1;
    }
    return points_[FindPoint(key_hash)].owner;
  }

  // Returns the candidate owning HashKey(key), or -1 if the ring is empty.
  int LookupKey(std::string_view key) const { return Lookup(HashKey(key)); }

  // Like Lookup, but walks clockwise past points of candidates for which
  // `eligible(int index)` is false and returns the first eligible owner; -1 if none is
  // eligible. Calls `eligible` at most once per distinct candidate for rings of up to
  // kMaxTrackedCandidates candidates.
  template <typename Eligible>
  int Lookup(std::uint64_t key_hash, Eligible&& eligible) const;

  // Candidates beyond this count are not de-duplicated by the eligible walk (it then
  // stops after one full turn of the ring instead).
  static constexpr std::size_t kMaxTrackedCandidates = 1024;

 private:
  // Returns the index of the first point >= key_hash, or 0 past the last point: the
  // bucket table narrows the search to the few points sharing the hash's top bits.
  // Requires: !points_.empty().
  std::size_t FindPoint(std::uint64_t key_hash) const {
    const std::size_t bucket = static_cast<std::size_t>(key_hash >> bucket_shift_);
    std::size_t i = bucket_start_[bucket];
    const std::size_t end = bucket_start_[bucket + 1];
    while (i < end && points_[i].hash < key_hash) {
      ++i;
    }
    return i == points_.size() ? 0 : i;
  }

  struct Point {
    std::uint64_t hash;
    std::int32_t owner;
  };

  std::size_t size_ = 0;
  // Ring points sorted by hash (ties by owner), each with the candidate owning it.
  std::vector<Point> points_;
  // bucket_start_[b] is the first point whose hash >> bucket_shift_ is >= b; one extra
  // entry at the end holds points_.size().
  std::vector<std::uint32_t> bucket_start_;
  int bucket_shift_ = 63;
};

template <typename Eligible>
int ConsistentHashRing::Lookup(std::uint64_t key_hash, Eligible&& eligible) const {
  const std::size_t n = points_.size();
  if (n == 0) {
    return -1;
  }
  std::size_t pos = FindPoint(key_hash);
  const int first = points_[pos].owner;
  if (eligible(first)) {
    return first;
  }
  // Slow path: remember rejected candidates so each is asked once and the walk ends as
  // soon as every candidate has been rejected.
  constexpr std::size_t kWordBits = 64;
  std::array<std::uint64_t, kMaxTrackedCandidates / kWordBits> rejected{};
  std::size_t rejected_count = 0;
  const auto reject = [&](int owner) {
    const auto u = static_cast<std::size_t>(owner);
    if (u < kMaxTrackedCandidates) {
      rejected[u / kWordBits] |= std::uint64_t{1} << (u % kWordBits);
      ++rejected_count;
    }
  };
  const auto is_rejected = [&](int owner) {
    const auto u = static_cast<std::size_t>(owner);
    return u < kMaxTrackedCandidates && ((rejected[u / kWordBits] >> (u % kWordBits)) & 1) != 0;
  };
  reject(first);
  for (std::size_t step = 1; step < n && rejected_count < size_; ++step) {
    if (++pos == n) {
      pos = 0;
    }
    const int owner = points_[pos].owner;
    if (is_rejected(owner)) {
      continue;
    }
    if (eligible(owner)) {
      return owner;
    }
    reject(owner);
  }
  return -1;
}

}  // namespace agentmesh::routing
