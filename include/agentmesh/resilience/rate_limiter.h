// Rate limiting with GCRA (the generic cell rate algorithm), per calling agent
// (rules 8.3: 100 requests per minute per agent).
//
// GCRA keeps one time point per key, the theoretical arrival time (TAT): a request conforms
// when TAT - now <= tolerance, and then pushes TAT one emission interval further. It is a
// token bucket without a refill timer, and gives an exact Retry-After. Gcra is one key's
// state and not thread-safe; KeyedRateLimiter is thread-safe (mutex-striped shards of
// key -> Gcra) and is owned by the gateway, one per limited route.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agentmesh/core/adaptive_mutex.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::resilience {

struct RateLimitOptions {
  // Requests allowed per window (rules 8.3: 100).
  int requests = 100;
  // The window the quota refills over (rules 8.3: a minute).
  core::Duration window = std::chrono::minutes(1);
  // Requests a caller may send at once; 0 means `requests` (a whole window's quota).
  int burst = 0;
  // Keys kept before fully replenished (idle) keys are evicted.
  std::size_t max_keys = 100000;
};

// Errors: kInvalidArgument "invalid_rate_limit_options" naming the offending field.
core::Status Validate(const RateLimitOptions& options);

struct RateDecision {
  bool allowed;
  // Time until this request would conform; 0 when allowed. The HTTP layer rounds it up to
  // whole seconds for Retry-After.
  core::Duration retry_after;
  // Requests that would still conform right now after this one.
  int remaining;
};

class Gcra {
 public:
  // Decides a request at `now`. `emission_interval` is window / requests; `tolerance` is
  // how far TAT may run ahead of now, (burst - 1) * emission_interval for a burst of
  // `burst` requests.
  RateDecision Decide(core::TimePoint now, core::Duration emission_interval,
                      core::Duration tolerance);
  // Returns whether the state equals a fresh key's at `now` (nothing left to replenish).
  bool Replenished(core::TimePoint now) const { return tat_ <= now; }

 private:
  core::TimePoint tat_{};
};

class KeyedRateLimiter {
 public:
  // Requires: Validate(options) is ok.
  explicit KeyedRateLimiter(const RateLimitOptions& options);
  KeyedRateLimiter(const KeyedRateLimiter&) = delete;
  KeyedRateLimiter& operator=(const KeyedRateLimiter&) = delete;

  // Decides a request of `key` at `now`. Does not allocate for a known key. A new key that
  // finds its shard past its share of max_keys first evicts the shard's replenished keys
  // (every key idle for burst emission intervals: a window, by default); evicting them
  // changes no decision.
  RateDecision Decide(std::string_view key, core::TimePoint now);
  // Returns the number of keys held.
  std::size_t keys() const;

  core::Duration emission_interval() const { return emission_interval_; }
  core::Duration tolerance() const { return tolerance_; }

 private:
  static constexpr std::size_t kShards = 16;

  // A key stored with its hash, so a lookup hashes the key once (for the shard and the
  // bucket) and a rehash never rehashes strings.
  struct StoredKey {
    std::string name;
    std::size_t hash;
  };
  struct KeyProbe {
    std::string_view name;
    std::size_t hash;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(const StoredKey& key) const { return key.hash; }
    std::size_t operator()(const KeyProbe& key) const { return key.hash; }
  };
  struct KeyEqual {
    using is_transparent = void;
    bool operator()(const StoredKey& a, const StoredKey& b) const { return a.name == b.name; }
    bool operator()(const KeyProbe& a, const StoredKey& b) const { return a.name == b.name; }
    bool operator()(const StoredKey& a, const KeyProbe& b) const { return a.name == b.name; }
  };
  struct alignas(64) Shard {
    mutable core::AdaptiveMutex mu;
    std::unordered_map<StoredKey, Gcra, KeyHash, KeyEqual> keys;
    // Size at which the next insert sweeps replenished keys.
    std::size_t sweep_at = 0;
  };

  void Sweep(Shard& shard, core::TimePoint now);

  core::Duration emission_interval_;
  core::Duration tolerance_;
  std::size_t keys_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace agentmesh::resilience
