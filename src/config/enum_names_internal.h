// The YAML spelling of every policy enum, in one table per enum; the parser, the
// dumper and EnumName() all read these tables.
#pragma once

#include <string_view>
#include <utility>

#include "agentmesh/config/policy_values.h"

namespace agentmesh::config::internal {

template <typename E>
struct EnumTable;

template <>
struct EnumTable<ConsistencyLevel> {
  static constexpr std::pair<ConsistencyLevel, std::string_view> kEntries[] = {
      {ConsistencyLevel::kStrong, "strong"},
      {ConsistencyLevel::kEventual, "eventual"},
      {ConsistencyLevel::kCausal, "causal"}};
};

template <>
struct EnumTable<ConflictStrategy> {
  static constexpr std::pair<ConflictStrategy, std::string_view> kEntries[] = {
      {ConflictStrategy::kLastWriteWins, "last_write_wins"},
      {ConflictStrategy::kUnion, "union"},
      {ConflictStrategy::kMinimum, "minimum"},
      {ConflictStrategy::kManual, "manual"}};
};

template <>
struct EnumTable<DeliveryGuarantee> {
  static constexpr std::pair<DeliveryGuarantee, std::string_view> kEntries[] = {
      {DeliveryGuarantee::kAtLeastOnce, "at_least_once"},
      {DeliveryGuarantee::kAtMostOnce, "at_most_once"}};
};

template <>
struct EnumTable<Backoff> {
  static constexpr std::pair<Backoff, std::string_view> kEntries[] = {
      {Backoff::kConstant, "constant"}, {Backoff::kExponential, "exponential"}};
};

template <>
struct EnumTable<LoadBalancingAlgorithm> {
  static constexpr std::pair<LoadBalancingAlgorithm, std::string_view> kEntries[] = {
      {LoadBalancingAlgorithm::kWeightedRoundRobin, "weighted_round_robin"},
      {LoadBalancingAlgorithm::kLeastConnections, "least_connections"},
      {LoadBalancingAlgorithm::kConsistentHashing, "consistent_hashing"}};
};

template <>
struct EnumTable<InvalidationStrategy> {
  static constexpr std::pair<InvalidationStrategy, std::string_view> kEntries[] = {
      {InvalidationStrategy::kTtl, "ttl"},
      {InvalidationStrategy::kEvent, "event"},
      {InvalidationStrategy::kVersion, "version"}};
};

template <>
struct EnumTable<StorageBackend> {
  static constexpr std::pair<StorageBackend, std::string_view> kEntries[] = {
      {StorageBackend::kEmbedded, "embedded"}};
};

template <>
struct EnumTable<CoordinationBackend> {
  static constexpr std::pair<CoordinationBackend, std::string_view> kEntries[] = {
      {CoordinationBackend::kEmbedded, "embedded"}, {CoordinationBackend::kEtcd, "etcd"}};
};

// Returns the YAML spelling of `value`.
template <typename E>
constexpr std::string_view NameOf(E value) {
  for (const auto& [entry, name] : EnumTable<E>::kEntries) {
    if (entry == value) {
      return name;
    }
  }
  return "unknown";
}

}  // namespace agentmesh::config::internal
