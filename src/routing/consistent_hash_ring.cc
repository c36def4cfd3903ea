#include "agentmesh/routing/consistent_hash_ring.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include "agentmesh/core/check.h"

namespace agentmesh::routing {
namespace {

// xxHash64 primes (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md).
constexpr std::uint64_t kPrime1 = 0x9E3779B185EBCA87ull;
constexpr std::uint64_t kPrime2 = 0xC2B2AE3D27D4EB4Full;
constexpr std::uint64_t kPrime3 = 0x165667B19E3779F9ull;
constexpr std::uint64_t kPrime4 = 0x85EBCA77C2B2AE63ull;
constexpr std::uint64_t kPrime5 = 0x27D4EB2F165667C5ull;

// The bucket table has about one bucket per point (at least 2, at most 2^20 = 4 MiB), so a
// lookup reads one table entry and one or two points instead of binary-searching the ring.
constexpr int kMinBucketBits = 1;
constexpr int kMaxBucketBits = 20;

// Loads little-endian words whatever the host byte order, so hashes match everywhere.
std::uint64_t Load64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) {
    v = std::byteswap(v);
  }
  return v;
}

std::uint32_t Load32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) {
    v = std::byteswap(v);
  }
  return v;
}

std::uint64_t Round(std::uint64_t acc, std::uint64_t input) {
  acc += input * kPrime2;
  acc = std::rotl(acc, 31);
  return acc * kPrime1;
}

std::uint64_t MergeRound(std::uint64_t acc, std::uint64_t val) {
  acc ^= Round(0, val);
  return acc * kPrime1 + kPrime4;
}

}  // namespace

std::uint64_t HashKey(std::string_view key) {
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  const std::size_t len = key.size();
  const unsigned char* const end = p + len;
  std::uint64_t h;
  if (len >= 32) {
    const unsigned char* const limit = end - 32;
    std::uint64_t v1 = kPrime1 + kPrime2;
    std::uint64_t v2 = kPrime2;
    std::uint64_t v3 = 0;
    std::uint64_t v4 = 0 - kPrime1;
    do {
      v1 = Round(v1, Load64(p));
      v2 = Round(v2, Load64(p + 8));
      v3 = Round(v3, Load64(p + 16));
      v4 = Round(v4, Load64(p + 24));
      p += 32;
    } while (p <= limit);
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = MergeRound(h, v1);
    h = MergeRound(h, v2);
    h = MergeRound(h, v3);
    h = MergeRound(h, v4);
  } else {
    h = kPrime5;
  }
  h += static_cast<std::uint64_t>(len);
  while (end - p >= 8) {
    h ^= Round(0, Load64(p));
    h = std::rotl(h, 27) * kPrime1 + kPrime4;
    p += 8;
  }
  if (end - p >= 4) {
    h ^= static_cast<std::uint64_t>(Load32(p)) * kPrime1;
    h = std::rotl(h, 23) * kPrime2 + kPrime3;
    p += 4;
  }
  while (p < end) {
    h ^= static_cast<std::uint64_t>(*p) * kPrime5;
    h = std::rotl(h, 11) * kPrime1;
    ++p;
  }
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

void ConsistentHashRing::Build(std::span<const std::string> ids, int virtual_nodes) {
  AM_CHECK_MSG(virtual_nodes >= 1, "ConsistentHashRing needs at least one virtual node");
  AM_CHECK(ids.size() * static_cast<std::size_t>(virtual_nodes) <
           static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()));
  const std::size_t total = ids.size() * static_cast<std::size_t>(virtual_nodes);
  points_.clear();
  points_.reserve(total);
  std::string key;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    key.assign(ids[i]);
    key.push_back('#');
    const std::size_t prefix = key.size();
    for (int k = 0; k < virtual_nodes; ++k) {
      key.resize(prefix);
      key.append(std::to_string(k));
      points_.push_back({HashKey(key), static_cast<std::int32_t>(i)});
    }
  }
  // Ties on a point (vanishingly rare) go to the lower index, so the ring is deterministic.
  std::sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.owner < b.owner;
  });
  const int bits =
      std::clamp(static_cast<int>(std::bit_width(total)), kMinBucketBits, kMaxBucketBits);
  bucket_shift_ = 64 - bits;
  const std::size_t buckets = std::size_t{1} << bits;
  bucket_start_.assign(buckets + 1, 0);
  std::size_t p = 0;
  for (std::size_t b = 0; b <= buckets; ++b) {
    while (p < total && (points_[p].hash >> bucket_shift_) < b) {
      ++p;
    }
    bucket_start_[b] = static_cast<std::uint32_t>(p);
  }
  size_ = ids.size();
}

}  // namespace agentmesh::routing
