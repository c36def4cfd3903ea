// EventJournal: the node's in-memory event sink, a bounded ring of recent events.
//
// Modules emit core::Event through the core::EventSink port; the journal stamps each
// event with a random UUID v4 (event_id) and a sequence number that only grows
// (version), keeps the newest `capacity` events and serves them to /debug views and,
// until the event bus exists, to event tails. Owned by the composition root.
// Thread-safe: every method takes one internal mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "agentmesh/core/event.h"

namespace agentmesh::observe {

class EventJournal final : public core::EventSink {
 public:
  static constexpr std::size_t kDefaultCapacity = 10000;

  // Keeps the newest `capacity` events (at least 1). Event ids come from a generator
  // seeded with `seed`, or once from std::random_device when no seed is given.
  explicit EventJournal(std::size_t capacity = kDefaultCapacity,
                        std::optional<std::uint64_t> seed = std::nullopt);

  // Stamps event_id and version and stores the event, evicting the oldest when full.
  void Emit(core::Event event) override;

  // Returns up to `limit` of the newest events whose type starts with `type_prefix`,
  // newest last.
  std::vector<core::Event> Recent(std::size_t limit, std::string_view type_prefix = "") const;
  // Returns how many events were ever emitted (the last version assigned).
  std::uint64_t total() const;
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::mt19937_64 random_;
  std::vector<core::Event> ring_;  // grows to capacity_, then overwrites at head_
  std::size_t head_ = 0;           // oldest event once the ring is full
  std::uint64_t total_ = 0;
};

// Formats a random UUID v4 drawn from `random`, e.g. "1b4e28ba-2fa1-41d2-883f-0016d3cca427".
std::string NewUuidV4(std::mt19937_64& random);

// Formats `t` as RFC 3339 in UTC with milliseconds, e.g. "2027-01-15T08:00:00.123Z".
std::string FormatRfc3339Millis(core::WallTime t);

// Returns the event in the rules' schema (5.3): event_id, event_type, agent_id,
// timestamp (RFC 3339 UTC, milliseconds), version, correlation_id (null when empty)
// and data.
boost::json::object ToJson(const core::Event& event);

}  // namespace agentmesh::observe
