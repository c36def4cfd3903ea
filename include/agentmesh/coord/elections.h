// ElectionTable: named leader elections (rules 1.1, 1.3), the core behind /v1/elections and
// /v1/coordinators.
//
// An election has one leader (a session, its agent and a value) holding a term: a fencing token
// from the shared Sequencer, so terms only grow, across elections and across restarts. Other
// campaigners queue FIFO as parked requests and are elected in order when the leader resigns or
// its session ends; a resign may hand off to a named successor instead. An election exists only
// while it has a leader. The leader and its term are durable; candidates (parked requests) are
// not. Every leadership change emits an election.* event with data {"name","term","leader"}.
//
// Owned by the coord Coordinator. Sans-IO and not thread-safe: the server shell serialises every
// call.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "agentmesh/coord/types.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::coord {

class ElectionTable {
 public:
  explicit ElectionTable(Sequencer& sequencer);

  // Campaigns for `name` with `session` (belonging to `agent`), offering `value`. With no leader
  // the session is elected at once with a fresh term. If it already leads, its value is updated
  // and the current leadership returned. Otherwise it is queued as `waiter` until it is elected
  // (a Wakeup with the leadership) or CancelWait(waiter); a session campaigning again while
  // queued keeps its place and its earlier request is woken with not_elected.
  // Result: {"name","leader":{"session","agent","value"},"term"}.
  // Requires: the session exists (the facade checks); `waiter` is not parked here.
  // Errors: kInvalidArgument invalid_name.
  Outcome Campaign(std::string_view name, std::string_view session, std::string_view agent,
                   std::string_view value, std::uint64_t waiter, core::TimePoint now,
                   Effects& effects);

  // Gives up leadership of `name`. Without `successor` the oldest candidate is elected; with
  // one (an agent name or a session id) the first candidate matching it is elected, wherever
  // it is queued. Result: the new state plus "resigned": true; "leader" is null when nobody
  // was campaigning (the election then no longer exists).
  // Errors: kInvalidArgument invalid_name; kNotFound unknown_election; kFailedPrecondition
  // not_leader (the session does not lead), successor_not_campaigning (nothing changes).
  core::Result<boost::json::object> Resign(std::string_view name, std::string_view session,
                                           std::string_view successor, core::TimePoint now,
                                           Effects& effects);

  // Ends everything `session` has here: its leaderships are lost (election.lost, the next
  // candidate is elected) and its queued campaigns are woken with unknown_session.
  void ReleaseSession(std::string_view session, core::TimePoint now, Effects& effects);

  // Drops the queued campaign parked as `waiter`, which gets no wakeup afterwards. Returns
  // false when no campaign is parked as `waiter`.
  bool CancelWait(std::uint64_t waiter, Effects& effects);

  // Returns {"name","leader":{...},"term","held_ms","candidates"}; held_ms counts from when
  // this process saw the leader elected (or restored it).
  // Errors: kNotFound unknown_election.
  core::Result<boost::json::object> Get(std::string_view name, core::TimePoint now) const;
  // Returns the Get() view of every election whose name starts with `prefix`, by name.
  boost::json::array List(std::string_view prefix, core::TimePoint now) const;

  // Whether `name` exists; a dirty name that no longer exists is to be deleted from the store.
  bool Contains(std::string_view name) const;
  // Returns the durable state of `name` ({"leader":{...},"term"}), or an empty object when it
  // does not exist.
  boost::json::object Snapshot(std::string_view name) const;
  // Recreates `name` from a Snapshot() taken before a restart.
  // Errors: kInvalidArgument invalid_name; kDataLoss invalid_snapshot.
  core::Status Restore(std::string_view name, const boost::json::object& snapshot,
                       core::TimePoint now);

  std::size_t size() const { return elections_.size(); }

 private:
  struct Member {
    std::string session;
    std::string agent;
    std::string value;
  };
  struct Candidate {
    Member member;
    std::uint64_t waiter = 0;
  };
  struct Election {
    Member leader;
    std::uint64_t term = 0;
    core::TimePoint elected_at;
    std::deque<Candidate> candidates;
  };
  using Elections = std::map<std::string, Election, std::less<>>;

  // Makes `member` the leader of `it` with a fresh term; marks it dirty and emits
  // election.elected.
  void Elect(Elections::iterator it, Member member, core::TimePoint now, Effects& effects);
  // After the leader of `it` left: elects the oldest candidate and wakes it, or deletes the
  // election when nobody is queued.
  void Succeed(Elections::iterator it, core::TimePoint now, Effects& effects);
  // Emits `type` about the current leader of `it`.
  static void Emit(std::string_view type, const Elections::const_iterator& it, Effects& effects);
  static boost::json::object Leadership(const Elections::const_iterator& it);

  Sequencer& sequencer_;
  Elections elections_;
  std::unordered_map<std::uint64_t, std::string> waiters_;  // waiter -> election name
};

}  // namespace agentmesh::coord
