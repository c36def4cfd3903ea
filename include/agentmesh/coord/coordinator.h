// Coordinator: the facade over the coordination cores — sessions, locks, elections,
// barriers and proposals — sharing one fencing-token sequencer.
//
// It checks sessions for the tables (a lock or a candidacy needs a live session, and
// takes its agent from it), cascades a session's end into its locks and leaderships,
// and dispatches persistence (Snapshot / Restore) by object kind. Sans-IO like the
// tables: every call takes `now`; the shell serialises calls (not thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "agentmesh/coord/barriers.h"
#include "agentmesh/coord/elections.h"
#include "agentmesh/coord/locks.h"
#include "agentmesh/coord/proposals.h"
#include "agentmesh/coord/sessions.h"
#include "agentmesh/coord/types.h"
#include "agentmesh/core/clock.h"

namespace agentmesh::coord {

struct CoordinatorOptions {
  SessionOptions sessions;
  LockOptions locks;
  BarrierOptions barriers;
  ProposalOptions proposals;
};

class Coordinator {
 public:
  explicit Coordinator(CoordinatorOptions options);
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Sessions (rules 1.1).
  core::Result<boost::json::object> CreateSession(std::string_view id, std::string_view agent,
                                                  std::optional<core::Duration> ttl,
                                                  core::TimePoint now, Effects& effects);
  core::Result<boost::json::object> RenewSession(std::string_view id, core::TimePoint now,
                                                 Effects& effects);
  // Ends the session and releases its locks, leadership and waits.
  core::Result<boost::json::object> DestroySession(std::string_view id, core::TimePoint now,
                                                   Effects& effects);
  core::Result<boost::json::object> GetSession(std::string_view id, core::TimePoint now) const;

  // Locks (rules 1.1, 4.3). Errors as LockTable, plus unknown_session.
  Outcome AcquireLock(std::string_view name, std::string_view session, LockMode mode,
                      std::uint64_t waiter, core::TimePoint now, Effects& effects);
  Outcome AcquireLockSet(std::vector<std::string> names, std::string_view session, LockMode mode,
                         std::uint64_t waiter, core::TimePoint now, Effects& effects);
  core::Result<boost::json::object> ReleaseLock(std::string_view name, std::string_view session,
                                                core::TimePoint now, Effects& effects);
  core::Result<boost::json::object> RenewLock(std::string_view name, std::string_view session,
                                              core::TimePoint now, Effects& effects);
  core::Result<boost::json::object> GetLock(std::string_view name, core::TimePoint now) const;

  // Elections (rules 1.1, 1.3). Errors as ElectionTable, plus unknown_session.
  Outcome Campaign(std::string_view name, std::string_view session, std::string_view value,
                   std::uint64_t waiter, core::TimePoint now, Effects& effects);
  core::Result<boost::json::object> Resign(std::string_view name, std::string_view session,
                                           std::string_view successor, core::TimePoint now,
                                           Effects& effects);
  core::Result<boost::json::object> GetElection(std::string_view name, core::TimePoint now) const;
  // Every election whose name starts with `prefix`, as GetElection shows them.
  boost::json::array ListElections(std::string_view prefix, core::TimePoint now) const;

  // Barriers (rules 1.3).
  core::Result<boost::json::object> CreateBarrier(std::string_view name,
                                                  std::vector<std::string> participants,
                                                  std::optional<core::Duration> ttl,
                                                  core::TimePoint now, Effects& effects);
  Outcome Arrive(std::string_view name, std::string_view participant, std::uint64_t waiter,
                 core::TimePoint now, Effects& effects);
  core::Result<boost::json::object> GetBarrier(std::string_view name, core::TimePoint now) const;

  // Quorum proposals (rules 1.2).
  core::Result<boost::json::object> CreateProposal(std::string_view id, std::string_view kind,
                                                   std::string_view subject,
                                                   boost::json::value payload,
                                                   core::TimePoint deadline, core::TimePoint now,
                                                   Effects& effects);
  core::Result<boost::json::object> Vote(std::string_view id, std::string_view voter, bool approve,
                                         core::TimePoint now, Effects& effects);
  core::Result<boost::json::object> GetProposal(std::string_view id, core::TimePoint now) const;

  // Withdraws a parked request. Returns false when `waiter` is not parked (it was woken
  // already, or never queued).
  bool CancelWait(std::uint64_t waiter, core::TimePoint now, Effects& effects);
  // Expires sessions (cascading), lock holds, barriers and proposals due at `now`.
  void Tick(core::TimePoint now, Effects& effects);
  // The earliest time Tick has work to do.
  std::optional<core::TimePoint> NextDeadline() const;

  // The durable JSON of a dirty object; nullopt when it no longer exists (delete it).
  std::optional<std::string> Snapshot(const Dirty& object) const;
  // Loads one stored object at startup (objects may come in any order; sessions are
  // given a full TTL of grace, lock holds restart their max-hold period).
  core::Status Restore(ObjectKind kind, std::string_view name, std::string_view json,
                       core::TimePoint now);
  // Marks the token ceiling dirty when it moved; call after every mutating call.
  void NoteSequencer(Effects& effects);
  // Called once the ceiling written for `effects` is committed.
  void CeilingPersisted(std::uint64_t ceiling);

  const Sequencer& sequencer() const { return sequencer_; }

 private:
  void EndSession(const std::string& id, core::TimePoint now, Effects& effects);

  Sequencer sequencer_;
  SessionTable sessions_;
  LockTable locks_;
  ElectionTable elections_;
  BarrierTable barriers_;
  ProposalTable proposals_;
};

}  // namespace agentmesh::coord
