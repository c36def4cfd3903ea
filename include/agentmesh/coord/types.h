// Shared vocabulary of the coordination cores (sessions, locks, elections, barriers,
// proposals): names, the fencing-token sequencer and the effects a call returns.
//
// Owned by the coord module. The cores are sans-IO state machines driven by the server
// shell, which serialises every call; nothing here is thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "agentmesh/core/event.h"
#include "agentmesh/core/status.h"

namespace agentmesh::coord {

// Checks a lock, election or barrier name: 1..200 characters of [A-Za-z0-9._:/-], not
// starting or ending with '/', without "//".
// Errors: kInvalidArgument "invalid_name".
core::Status ValidateName(std::string_view name);

// Hands out fencing tokens (lock grants and election terms): strictly increasing and never
// reused, across restarts too. Tokens are reserved in blocks: the durable state is only the
// ceiling, which must be persisted before a token above the previous ceiling is
// acknowledged; after a restart counting resumes at the ceiling.
class Sequencer {
 public:
  static constexpr std::uint64_t kBlock = 1024;

  // The next token. Afterwards NeedsCeiling() says whether the ceiling moved.
  std::uint64_t Next();
  // Whether the ceiling moved since the last MarkCeilingPersisted().
  bool NeedsCeiling() const { return ceiling_ != persisted_ceiling_; }
  void MarkCeilingPersisted() { persisted_ceiling_ = ceiling_; }
  // Resumes after a restart from a persisted ceiling.
  void Restore(std::uint64_t ceiling);

  std::uint64_t last() const { return last_; }
  std::uint64_t ceiling() const { return ceiling_; }

 private:
  std::uint64_t last_ = 0;
  std::uint64_t ceiling_ = 0;
  std::uint64_t persisted_ceiling_ = 0;
};

// The kinds of durable objects; the counters object (name "tokens") holds the Sequencer's
// ceiling.
enum class ObjectKind { kSession, kLock, kElection, kBarrier, kProposal, kCounters };
std::string_view ObjectKindName(ObjectKind kind);

// An object whose durable state changed: the shell persists its snapshot (or its deletion
// when the table no longer has it) before acknowledging the call.
struct Dirty {
  ObjectKind kind;
  std::string name;  // session id, lock/election/barrier name, proposal id; "tokens"
  friend bool operator==(const Dirty&, const Dirty&) = default;
};

// A parked request (lock wait, campaign, barrier arrival) to complete with `result`.
struct Wakeup {
  std::uint64_t waiter = 0;
  core::Result<boost::json::object> result;
};

// What a call changed besides its own answer.
struct Effects {
  std::vector<Dirty> dirty;
  std::vector<Wakeup> wakeups;
  std::vector<core::Event> events;  // timestamp left for the shell to fill

  void Append(Effects&& other);
  void MarkDirty(ObjectKind kind, std::string name);
};

// The answer to a call that may wait: done (ok or error), or parked until a Wakeup.
struct Outcome {
  bool queued = false;
  core::Result<boost::json::object> result;  // meaningful when !queued
};

}  // namespace agentmesh::coord
