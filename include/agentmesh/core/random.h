// Random: the injected source of randomness (jitter, sampling, random choices).
//
// Code that needs random numbers takes a `Random&` so that tests can seed it and a
// failing test can print its seed. SplitMix64-seeded xoshiro256**: fast, good enough
// for jitter and sampling, not for secrets. Not thread-safe: give each thread its own.
#pragma once

#include <cstdint>

namespace agentmesh::core {

class Random {
 public:
  explicit Random(std::uint64_t seed) : seed_(seed) {
    std::uint64_t x = seed;
    for (auto& word : s_) {
      x += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      word = z ^ (z >> 31);
    }
  }

  // Returns the seed this generator started from.
  std::uint64_t seed() const { return seed_; }

  // Returns 64 uniformly random bits.
  std::uint64_t Next() {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Returns a uniform double in [0, 1).
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Returns a uniform integer in [0, bound); bound must be positive.
  std::uint64_t Below(std::uint64_t bound) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(Next()) * bound) >> 64);
  }

 private:
  static std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t seed_;
  std::uint64_t s_[4];
};

}  // namespace agentmesh::core
