// BarrierTable: named barriers for a fixed set of participants (rules 1.3), the core behind
// /v1/barriers.
//
// A barrier is created for 1..max_participants participant ids and lives for its TTL (default
// 300 s). Participants arrive; an arrival that does not complete the barrier parks the request
// until the last participant arrives, which wakes every parked arriver with the complete state
// (barrier.completed). A completed barrier stays readable until its TTL runs out. An incomplete
// barrier whose TTL runs out emits barrier.expired and wakes its parked arrivers with
// barrier_expired; either way the barrier is then deleted. Participants, arrivals and the
// remaining TTL are durable; parked requests are not.
//
// Owned by the coord Coordinator. Sans-IO and not thread-safe: the server shell serialises every
// call.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "agentmesh/coord/types.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::coord {

struct BarrierOptions {
  // Time to live of a barrier created without one (1.3: ex=300).
  core::Duration default_ttl = std::chrono::minutes(5);
  // Shortest time to live accepted (ours).
  core::Duration min_ttl = std::chrono::seconds(1);
  // Longest time to live accepted (ours).
  core::Duration max_ttl = std::chrono::hours(24);
  // Most participants of one barrier (ours).
  std::size_t max_participants = 1000;
};

// Errors: kInvalidArgument "invalid_barrier_options" naming the offending field.
core::Status Validate(const BarrierOptions& options);

class BarrierTable {
 public:
  // Requires: Validate(options) is ok.
  explicit BarrierTable(BarrierOptions options = {});

  // Creates barrier `name` for `participants` (unique ids) living `ttl`; zero means
  // default_ttl. A barrier of that name whose TTL ran out is expired first.
  // Result: the Get() view.
  // Errors: kInvalidArgument invalid_name, invalid_argument (participants: none, too many,
  // duplicated or not ids), invalid_ttl; kAlreadyExists barrier_exists.
  core::Result<boost::json::object> Create(std::string_view name,
                                           std::vector<std::string> participants,
                                           core::Duration ttl, core::TimePoint now,
                                           Effects& effects);

  // Records that `participant` arrived. When that completes the barrier, every parked arriver
  // is woken and the caller gets the complete view at once; arriving at a completed barrier
  // also answers at once. Otherwise the caller is parked as `waiter` until completion, expiry
  // or CancelWait(waiter) (the arrival itself stays recorded).
  // Result: the Get() view ({"complete": true, "missing": []} when complete).
  // Errors: kNotFound unknown_barrier; kFailedPrecondition not_participant, barrier_expired
  // (its TTL ran out before Expire() deleted it).
  Outcome Arrive(std::string_view name, std::string_view participant, std::uint64_t waiter,
                 core::TimePoint now, Effects& effects);

  // Stops waiting for the arrival parked as `waiter`, which gets no wakeup afterwards. Returns
  // false when nothing is parked as `waiter`.
  bool CancelWait(std::uint64_t waiter, Effects& effects);

  // Returns {"name","participants","arrived","missing","complete","ttl","expires_in_ms"};
  // "arrived" in arrival order, "missing" in participant order.
  // Errors: kNotFound unknown_barrier.
  core::Result<boost::json::object> Get(std::string_view name, core::TimePoint now) const;

  // Returns when the next barrier expires, if any.
  std::optional<core::TimePoint> NextDeadline() const;
  // Deletes every barrier whose TTL has run out by `now` (at exactly its TTL included).
  void Expire(core::TimePoint now, Effects& effects);

  // Whether `name` exists; a dirty name that no longer exists is to be deleted from the store.
  bool Contains(std::string_view name) const;
  // Returns the durable state of `name`, or an empty object when it does not exist. The
  // remaining TTL is measured from the barrier's last durable change, which is when the shell
  // persists it.
  boost::json::object Snapshot(std::string_view name) const;
  // Recreates `name` from a Snapshot() taken before a restart; its remaining TTL restarts
  // from `now`.
  // Errors: kInvalidArgument invalid_name; kDataLoss invalid_snapshot.
  core::Status Restore(std::string_view name, const boost::json::object& snapshot,
                       core::TimePoint now);

  std::size_t size() const { return barriers_.size(); }

 private:
  struct Barrier {
    std::vector<std::string> participants;  // creation order
    std::vector<std::string> arrived;       // arrival order
    core::Duration ttl{};
    core::TimePoint expires_at;
    core::TimePoint changed_at;  // last durable change, the base of Snapshot's remaining TTL
    std::vector<std::pair<std::uint64_t, std::string>> waiters;  // (waiter, participant)
    bool complete() const { return arrived.size() == participants.size(); }
  };
  using Barriers = std::map<std::string, Barrier, std::less<>>;

  // Deletes `it` (expired): barrier.expired and barrier_expired wakeups when incomplete.
  void ExpireOne(Barriers::iterator it, Effects& effects);
  void Insert(std::string name, Barrier barrier);
  static boost::json::object View(const Barriers::const_iterator& it, core::TimePoint now);

  BarrierOptions options_;
  Barriers barriers_;
  std::set<std::pair<core::TimePoint, std::string>> deadlines_;
  std::unordered_map<std::uint64_t, std::string> waiters_;  // waiter -> barrier name
};

}  // namespace agentmesh::coord
