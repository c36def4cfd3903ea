// LockTable: exclusive and shared (readers-writer) locks held by sessions, with fencing
// tokens, a maximum hold, renewals, a lock hierarchy and all-or-nothing lock sets
// (rules 1.1, 4.3).
//
// Fairness is FIFO without barging: a request is granted when it is compatible with every
// holder and every waiter queued ahead of it on each of its locks is compatible with it
// (only shared behind shared may pass). A lock-set request waits in every queue it needs
// and holds nothing meanwhile; since all its queue entries are made at once, "ahead of"
// is one arrival order across all queues, so the oldest waiter can always proceed once
// the holders leave: lock sets never deadlock.
//
// Owned by the Coordinator. A sans-IO state machine: every call takes the steady `now`,
// nothing here is thread-safe (the server shell serialises calls). Durable state per lock
// is its holders (session, agent, mode, token, renewals); waiters never are. After a
// restart each holder's max-hold deadline restarts from `now`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>

#include "agentmesh/coord/types.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::coord {

enum class LockMode : std::uint8_t { kExclusive, kShared };

// Returns "exclusive" or "shared".
std::string_view LockModeName(LockMode mode);
// Parses "exclusive" or "shared". Errors: kInvalidArgument "invalid_argument".
core::Result<LockMode> ParseLockMode(std::string_view text);

// One rung of the lock hierarchy: locks whose name starts with `prefix` have `level`.
struct LockLevel {
  std::string prefix;
  int level = 0;
};

// Returns the level of `name` in `hierarchy` (that of its longest matching prefix), or
// nullopt when no rung matches.
std::optional<int> LockLevelOf(const std::vector<LockLevel>& hierarchy, std::string_view name);

// Checks that `session`, holding `held`, may take `missing`: none of them may be below
// the highest level it holds. Shared by every backend.
// Errors: kFailedPrecondition "lock_order_violation".
core::Status CheckLockOrder(const std::vector<LockLevel>& hierarchy, std::string_view session,
                            const std::set<std::string>& held,
                            const std::vector<std::string>& missing);

struct LockOptions {
  // Longest a grant lives without a renewal (rules 1.1, 4.3: 60 s).
  std::chrono::milliseconds max_hold{std::chrono::seconds(60)};
  // Renewals allowed per grant (rules 4.3: 10).
  int max_renewals = 10;
  // A name's level is that of its longest matching prefix; names matching none are
  // unconstrained. A session holding level L may not acquire a level below L.
  std::vector<LockLevel> hierarchy;
  // Most names in one lock-set request.
  std::size_t max_set_size = 64;
};

// Errors: kInvalidArgument "invalid_lock_options" naming the offending field.
core::Status Validate(const LockOptions& options);

class LockTable {
 public:
  // Requires: Validate(options) is ok; `sequencer` outlives the table.
  LockTable(LockOptions options, Sequencer& sequencer);

  // Acquires lock `name` for `session` (whose agent is `agent`). Granted now, or queued
  // under `waiter` until a later call returns its Wakeup (same result) or CancelWait.
  // Re-acquiring in the same mode returns the existing grant. Result
  // {"name","token","mode","session","expires_in_ms"}.
  // Errors: kInvalidArgument "invalid_name", "invalid_argument" (held in the other mode);
  // kFailedPrecondition "lock_order_violation".
  // Requires: `waiter` is not queued.
  Outcome Acquire(std::string_view name, std::string_view session, std::string_view agent,
                  LockMode mode, std::uint64_t waiter, core::TimePoint now, Effects& effects);
  // Acquires every lock in `names` (deduplicated, canonical sorted order) at once or none.
  // Locks the session already holds in `mode` are kept. Result {"names":[...],
  // "tokens":{name: token},"mode","session","expires_in_ms"} (the earliest expiry).
  // Errors: as Acquire, plus kInvalidArgument "invalid_argument" for an empty or too
  // large set.
  Outcome AcquireSet(std::vector<std::string> names, std::string_view session,
                     std::string_view agent, LockMode mode, std::uint64_t waiter,
                     core::TimePoint now, Effects& effects);
  // Extends the session's grant to now + max_hold. Result as Acquire, plus "renewals".
  // Errors: kFailedPrecondition "not_holder", "max_renewals_exceeded".
  core::Result<boost::json::object> Renew(std::string_view name, std::string_view session,
                                          core::TimePoint now, Effects& effects);
  // Ends the session's grant and grants waiters. Result {"name","session","released":true}.
  // Errors: kInvalidArgument "invalid_name"; kFailedPrecondition "not_holder".
  core::Result<boost::json::object> Release(std::string_view name, std::string_view session,
                                            core::TimePoint now, Effects& effects);
  // Drops a queued request (its wait_ms ran out); it gets no wakeup afterwards. Requests
  // queued behind it that can now be granted are returned as wakeups. Returns whether
  // `waiter` was queued.
  bool CancelWait(std::uint64_t waiter, core::TimePoint now, Effects& effects);
  // Drops everything `session` holds (lock.released) and its queued requests (woken with
  // kNotFound "unknown_session"), then grants waiters.
  void ReleaseSession(std::string_view session, core::TimePoint now, Effects& effects);

  // Takes back every grant whose max hold ran out (at exactly granted/renewed + max_hold;
  // lock.expired) and grants waiters.
  void Expire(core::TimePoint now, Effects& effects);
  // Returns the earliest max-hold deadline, for the shell's timer; nullopt without holders.
  std::optional<core::TimePoint> NextDeadline() const;

  // Returns {"name","holders":[{"session","agent","mode","token","expires_in_ms",
  // "renewals"}],"waiters":n}; a free lock has no holders. Errors: "invalid_name".
  core::Result<boost::json::object> Get(std::string_view name, core::TimePoint now) const;
  // Whether lock `name` has holders (durable state).
  bool Has(std::string_view name) const;
  // Returns the durable state of lock `name`: {"holders":[{"session","agent","mode",
  // "token","renewals"}]}, empty holders when it is free.
  boost::json::object Snapshot(std::string_view name) const;
  // Replaces the holders of lock `name` with those of a Snapshot; each grant's max hold
  // restarts at `now`. Errors: kDataLoss "corrupt_lock" when `state` is malformed.
  core::Status Restore(std::string_view name, const boost::json::object& state,
                       core::TimePoint now);

  // Returns the level of `name` in the hierarchy, nullopt when unconstrained.
  std::optional<int> LevelOf(std::string_view name) const;
  // Returns the number of queued requests.
  std::size_t waiting() const { return waiters_.size(); }
  const LockOptions& options() const { return options_; }

 private:
  struct Holder {
    std::string session;
    std::string agent;
    LockMode mode = LockMode::kExclusive;
    std::uint64_t token = 0;
    core::TimePoint expires_at;
    int renewals = 0;
  };
  struct Lock {
    std::vector<Holder> holders;
    std::deque<std::uint64_t> queue;  // waiter ids, arrival order
  };
  struct Waiter {
    std::string session;
    std::string agent;
    LockMode mode = LockMode::kExclusive;
    std::vector<std::string> names;  // every name of the request, sorted; queued in each
    bool is_set = false;
  };
  using Deadline = std::tuple<core::TimePoint, std::string, std::string>;  // at, lock, session

  Outcome AcquireNames(std::vector<std::string> names, std::string_view session,
                       std::string_view agent, LockMode mode, std::uint64_t waiter, bool is_set,
                       core::TimePoint now, Effects& effects);
  // Checks the lock hierarchy for acquiring `missing` while holding what it holds.
  core::Status CheckOrder(const std::string& session,
                          const std::vector<std::string>& missing) const;
  // Whether `request` may be granted now; `queued` says it is already in the queues
  // (else it would join at their tails).
  bool Grantable(const Waiter& request, std::uint64_t id, bool queued) const;
  // Grants the names of `request` it does not hold yet and returns its result.
  boost::json::object Grant(const Waiter& request, core::TimePoint now, Effects& effects);
  // Grants queued requests on `names` (and on locks those grants touch) until none fits.
  void GrantWaiters(std::set<std::string> names, core::TimePoint now, Effects& effects);
  // Removes waiter `id` from its queues and the table; returns its request.
  Waiter Dequeue(std::uint64_t id);
  // Removes the grant of `session` on `name`; returns the removed holder.
  Holder RemoveHolder(const std::string& name, const std::string& session);
  void AddHolder(const std::string& name, Holder holder);
  void EraseIfUnused(const std::string& name);
  const Holder* FindHolder(std::string_view name, std::string_view session) const;
  boost::json::object ResultOf(const Waiter& request, core::TimePoint now) const;

  LockOptions options_;
  Sequencer& sequencer_;
  std::map<std::string, Lock, std::less<>> locks_;
  std::unordered_map<std::uint64_t, Waiter> waiters_;
  std::map<std::string, std::set<std::string>, std::less<>> held_;  // session -> lock names
  std::set<Deadline> deadlines_;
};

}  // namespace agentmesh::coord
