// SessionTable: Consul-style sessions (rules 1.1). An agent creates a session with a TTL
// (default 30 s) and renews it (the SDK every 10 s); when it expires or is destroyed, the
// Coordinator releases every lock, leadership and candidacy it holds.
//
// Owned by the Coordinator. A sans-IO state machine: every call takes the steady `now`,
// nothing here is thread-safe (the server shell serialises calls). Durable state per
// session is its agent and TTL only: after a restart every session gets a full TTL again
// (grace), so renewals change nothing durable.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "agentmesh/coord/types.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::coord {

struct SessionOptions {
  // TTL of a session created without one (rules 1.1: 30 s).
  std::chrono::milliseconds default_ttl{std::chrono::seconds(30)};
  // Shortest TTL a session may ask for.
  std::chrono::milliseconds min_ttl{std::chrono::seconds(1)};
  // Longest TTL a session may ask for.
  std::chrono::milliseconds max_ttl{std::chrono::hours(24)};
};

// Errors: kInvalidArgument "invalid_session_options" naming the offending field.
core::Status Validate(const SessionOptions& options);

class SessionTable {
 public:
  explicit SessionTable(const SessionOptions& options = {});

  // Creates session `id` for `agent`, live until now + ttl (default_ttl when absent).
  // Returns {"id","agent","ttl"}; marks the session dirty, emits session.created.
  // Errors: kInvalidArgument "invalid_argument" (bad id or agent), "invalid_ttl" (outside
  // [min_ttl, max_ttl]); kAlreadyExists "session_exists".
  core::Result<boost::json::object> Create(std::string_view id, std::string_view agent,
                                           std::optional<core::Duration> ttl, core::TimePoint now,
                                           Effects& effects);
  // Extends a live session to now + its TTL. Returns {"id","ttl","expires_in_ms"}. Marks
  // nothing dirty: a restart grants a full TTL anyway.
  // Errors: kNotFound "unknown_session" (never existed, destroyed or expired).
  core::Result<boost::json::object> Renew(std::string_view id, core::TimePoint now);
  // Ends a live session; the caller then releases what it held. Returns
  // {"id","destroyed":true}; marks it dirty (deleted), emits session.destroyed.
  // Errors: kNotFound "unknown_session".
  core::Result<boost::json::object> Destroy(std::string_view id, core::TimePoint now,
                                            Effects& effects);
  // Returns {"id","agent","ttl","expires_in_ms"} of a live session.
  // Errors: kNotFound "unknown_session".
  core::Result<boost::json::object> Get(std::string_view id, core::TimePoint now) const;
  // Returns the agent of a live session (what the Coordinator passes to lock and election
  // calls). Errors: kNotFound "unknown_session".
  core::Result<std::string> AgentOf(std::string_view id, core::TimePoint now) const;

  // Removes every session whose TTL ran out (expiry at exactly created/renewed + TTL) and
  // returns their ids in expiry order; marks them dirty, emits session.expired.
  std::vector<std::string> Expire(core::TimePoint now, Effects& effects);
  // Returns the earliest expiry, for the shell's timer; nullopt without sessions.
  std::optional<core::TimePoint> NextDeadline() const;

  // Whether session `id` exists (durable state; it may be due to expire).
  bool Has(std::string_view id) const;
  // Returns the durable state of session `id`: {"agent","ttl_ms"}. Requires: Has(id).
  boost::json::object Snapshot(std::string_view id) const;
  // Recreates session `id` from a Snapshot with a full TTL from `now` (restart grace).
  // Errors: kDataLoss "corrupt_session" when `state` is malformed.
  core::Status Restore(std::string_view id, const boost::json::object& state, core::TimePoint now);

  std::size_t size() const { return sessions_.size(); }
  const SessionOptions& options() const { return options_; }

 private:
  struct Session {
    std::string agent;
    core::Duration ttl{};
    core::TimePoint expires_at;
  };
  using Map = std::map<std::string, Session, std::less<>>;

  // Returns the session if it exists and is still live at `now`.
  const Session* FindLive(std::string_view id, core::TimePoint now) const;
  void Insert(std::string id, Session session);
  void SetExpiry(Map::iterator it, core::TimePoint expires_at);

  SessionOptions options_;
  Map sessions_;
  std::set<std::pair<core::TimePoint, std::string>> deadlines_;
};

}  // namespace agentmesh::coord
