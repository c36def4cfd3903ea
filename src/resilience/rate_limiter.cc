#include "agentmesh/resilience/rate_limiter.h"

#include <algorithm>
#include <functional>
#include <string>

#include "agentmesh/core/check.h"

namespace agentmesh::resilience {
namespace {

// The shard comes from the top byte of the key's hash; the map's buckets use the low bits.
constexpr int kShardHashShift = static_cast<int>(sizeof(std::size_t) * 8) - 8;

core::Status InvalidOptions(std::string message) {
  return core::InvalidArgument("invalid_rate_limit_options", std::move(message));
}

}  // namespace

core::Status Validate(const RateLimitOptions& options) {
  if (options.requests < 1) {
    return InvalidOptions("requests must be at least 1");
  }
  if (options.window <= core::Duration::zero()) {
    return InvalidOptions("window must be positive");
  }
  if (options.window / options.requests <= core::Duration::zero()) {
    return InvalidOptions("window must be at least one nanosecond per request");
  }
  if (options.burst < 0) {
    return InvalidOptions("burst must not be negative (0 means requests)");
  }
  if (options.max_keys < 1) {
    return InvalidOptions("max_keys must be at least 1");
  }
  return core::OkStatus();
}

RateDecision Gcra::Decide(core::TimePoint now, core::Duration emission_interval,
                          core::Duration tolerance) {
  const core::TimePoint tat = std::max(tat_, now);
  const core::TimePoint allow_at = tat - tolerance;
  if (now < allow_at) {
    return {false, allow_at - now, 0};
  }
  tat_ = tat + emission_interval;
  const core::Duration slack = now + tolerance - tat_;
  const int remaining =
      slack < core::Duration::zero() ? 0 : static_cast<int>(slack / emission_interval) + 1;
  return {true, core::Duration::zero(), remaining};
}

KeyedRateLimiter::KeyedRateLimiter(const RateLimitOptions& options)
    : emission_interval_(options.window / std::max(options.requests, 1)),
      tolerance_(emission_interval_ * ((options.burst > 0 ? options.burst : options.requests) - 1)),
      keys_per_shard_(std::max<std::size_t>(options.max_keys / kShards, 1)) {
  AM_CHECK_MSG(Validate(options).ok(), "KeyedRateLimiter needs valid RateLimitOptions");
  for (auto& shard : shards_) {
    shard.sweep_at = keys_per_shard_;
  }
}

RateDecision KeyedRateLimiter::Decide(std::string_view key, core::TimePoint now) {
  const KeyProbe probe{key, std::hash<std::string_view>{}(key)};
  Shard& shard = shards_[(probe.hash >> kShardHashShift) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.keys.find(probe);
  if (it == shard.keys.end()) {
    if (shard.keys.size() >= shard.sweep_at) {
      Sweep(shard, now);
    }
    it = shard.keys.emplace(StoredKey{std::string(key), probe.hash}, Gcra()).first;
  }
  return it->second.Decide(now, emission_interval_, tolerance_);
}

void KeyedRateLimiter::Sweep(Shard& shard, core::TimePoint now) {
  std::erase_if(shard.keys, [now](const auto& entry) { return entry.second.Replenished(now); });
  // When the keys are all busy, let the shard grow before sweeping again so that inserts
  // stay amortised O(1).
  shard.sweep_at = std::max(keys_per_shard_, shard.keys.size() * 2);
}

std::size_t KeyedRateLimiter::keys() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    total += shard.keys.size();
  }
  return total;
}

}  // namespace agentmesh::resilience
