// CoordClient: the SDK for the node's coordination API (sessions, locks, elections,
// barriers, quorum proposals), with RAII handles for what a session holds.
//
// The application owns one CoordClient per node; it runs a background IO thread for the
// renewal and campaign loops and a callback thread on which every user callback runs
// (one at a time), so callbacks may call the blocking methods. Session, LockGuard,
// LockSet and Election are move-only handles made from a client, which must outlive them
// (checked: destroying a client with live handles aborts).
//
// Thread-safety: CoordClient and the handles' const methods may be used from any thread;
// a handle's mutating methods (Release, Resign, Destroy, move) from one thread at a time.
// The blocking calls wait at most request_timeout plus the call's `wait`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/random.h"
#include "agentmesh/core/status.h"

namespace agentmesh::client {

namespace internal {
class CoordCore;
class SessionState;
class LockState;
class ElectionState;
}  // namespace internal

struct CoordClientOptions {
  // Base URL of the node.
  std::string node_url = "http://127.0.0.1:7700";
  // Deadline of each HTTP request, connect included; a waiting call adds its wait.
  core::Duration request_timeout = std::chrono::seconds(2);
  // The agent this client acts for: owner of its sessions and voter of its votes.
  std::string agent;
};

// Errors: kInvalidArgument "invalid_url", "invalid_agent" or "invalid_option".
core::Status Validate(const CoordClientOptions& options);

// The leadership-acquisition backoff (rules 1.1: 2 s, 4 s, 8 s ... at most 30 s, with
// jitter). Pure; the defaults are the policy's consensus.election_backoff_*.
struct ElectionBackoff {
  // Wait after the first failed attempt.
  core::Duration initial = std::chrono::seconds(2);
  // Factor applied to the wait after each further failed attempt.
  double multiplier = 2.0;
  // Longest wait, jitter excluded.
  core::Duration max = std::chrono::seconds(30);
  // Each wait gets a uniform random extra in [0, jitter x step), so that candidates that
  // failed together do not retry together.
  double jitter = 0.1;

  // Returns the step after `failures` (>= 1) consecutive failures, without jitter:
  // min(initial x multiplier^(failures - 1), max).
  core::Duration Step(int failures) const;
  // Returns Step(failures) plus its jitter drawn from `random`.
  core::Duration Next(int failures, core::Random& random) const;
};

// Errors: kInvalidArgument "invalid_option".
core::Status Validate(const ElectionBackoff& backoff);

struct SessionOptions {
  // Session time to live on the node (rules 1.1: 30 s).
  core::Duration ttl = std::chrono::seconds(30);
  // Time between renewals (rules 1.1: every 10 s); must be below ttl.
  core::Duration renew_interval = std::chrono::seconds(10);
  // Wait before retrying a renewal that got no answer or a 5xx.
  core::Duration renew_retry = std::chrono::seconds(1);
  // Called once, on the callback thread, when a renewal finds the session gone (expired).
  std::function<void()> on_lost;
};

// Errors: kInvalidArgument "invalid_option".
core::Status Validate(const SessionOptions& options);

enum class LockMode { kExclusive, kShared };

struct LockOptions {
  // Time between renewals of a held lock (policy locks.renewal_interval).
  core::Duration renew_interval = std::chrono::seconds(20);
  // Renewals before the lock is left to expire (policy locks.max_renewals).
  int max_renewals = 10;
  // Called once, on the callback thread, when a renewal finds the lock taken back.
  std::function<void()> on_lost;
};

// The leader of an election as the node reports it.
struct LeaderInfo {
  std::string name;
  std::string session;
  std::string agent;
  std::string value;
  std::uint64_t term = 0;  // fencing token of the leadership; only ever grows
};

struct BarrierView {
  std::string name;
  std::vector<std::string> participants;
  std::vector<std::string> arrived;
  std::vector<std::string> missing;
  bool complete = false;
};

struct ProposalRequest {
  std::string kind;          // "critical", "system_wide" or "security"
  std::string subject;       // what is decided
  std::string payload_json;  // optional JSON value attached to the proposal
  core::Duration deadline = std::chrono::minutes(10);  // voting stays open this long
};

struct ProposalView {
  std::string id;
  std::string kind;
  std::string subject;
  std::string outcome;  // "pending", "approved", "rejected" or "expired"
  std::vector<std::string> approvals;
  std::vector<std::string> rejections;
  int required_approvals = 0;
};

class Session;

class CoordClient {
 public:
  // Starts the IO and callback threads. Invalid options surface on the first call.
  explicit CoordClient(CoordClientOptions options);
  // Requires: every handle made from this client is gone.
  ~CoordClient();
  CoordClient(const CoordClient&) = delete;
  CoordClient& operator=(const CoordClient&) = delete;

  const CoordClientOptions& options() const;

  // Creates a session for options().agent, renewed in the background until destroyed.
  // Errors: kInvalidArgument (options, "invalid_ttl"), kUnavailable, kDeadlineExceeded.
  core::Result<Session> CreateSession(SessionOptions options = {});

  // Returns the current leader of election `name`.
  // Errors: kNotFound "unknown_election" when nobody leads.
  core::Result<LeaderInfo> Leader(std::string_view name);

  // Creates barrier `name`; ttl zero means the node's default (5 min).
  // Errors: kFailedPrecondition "barrier_exists", kInvalidArgument.
  core::Result<BarrierView> CreateBarrier(std::string_view name,
                                          const std::vector<std::string>& participants,
                                          core::Duration ttl = core::Duration::zero());
  // Records `participant`'s arrival and waits up to `wait` for the others.
  // Errors: kFailedPrecondition "barrier_incomplete" when `wait` ran out (the arrival
  // stays recorded), "not_participant"; kNotFound "unknown_barrier".
  core::Result<BarrierView> ArriveAndWait(std::string_view barrier, std::string_view participant,
                                          core::Duration wait);
  core::Result<BarrierView> GetBarrier(std::string_view name);

  // Opens a proposal; returns its id. Errors: kInvalidArgument.
  core::Result<std::string> Propose(const ProposalRequest& request);
  // Votes on proposal `id` as options().agent (sent as X-Agent-ID); returns the proposal
  // after the vote. Errors: kPermissionDenied "not_eligible", kFailedPrecondition
  // "already_voted" or "proposal_closed", kNotFound.
  core::Result<ProposalView> Vote(std::string_view id, bool approve);
  core::Result<ProposalView> GetProposal(std::string_view id);

 private:
  std::shared_ptr<internal::CoordCore> core_;
};

// A session on the node, renewed every renew_interval until destroyed (RAII).
class Session {
 public:
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  // Destroys the session on the node unless already destroyed or lost.
  ~Session();

  // Stops renewing and destroys the session, releasing what it holds.
  core::Status Destroy();

  const std::string& id() const;
  core::Duration ttl() const;
  // Whether a renewal found the session gone on the node.
  bool lost() const;
  // Renewals the node accepted so far.
  std::uint64_t renewals() const;

 private:
  friend class CoordClient;
  friend class LockGuard;
  friend class LockSet;
  friend class Election;
  explicit Session(std::shared_ptr<internal::SessionState> state);
  std::shared_ptr<internal::SessionState> state_;
};

// One lock held by a session, renewed while held and released on destruction (RAII).
class LockGuard {
 public:
  // Acquires lock `name`, waiting up to `wait` (zero: do not wait).
  // Errors: kFailedPrecondition "lock_held" (wait ran out), "lock_order_violation";
  // kNotFound "unknown_session"; kInvalidArgument "invalid_name".
  static core::Result<LockGuard> Acquire(Session& session, std::string_view name,
                                         LockMode mode = LockMode::kExclusive,
                                         core::Duration wait = core::Duration::zero(),
                                         LockOptions options = {});
  LockGuard(LockGuard&&) noexcept;
  LockGuard& operator=(LockGuard&&) noexcept;
  ~LockGuard();

  // Stops renewing and releases the lock. Errors: kFailedPrecondition "not_holder".
  core::Status Release();

  const std::string& name() const;
  // The fencing token of this grant.
  std::uint64_t token() const;
  // Whether the lock is still ours: not released, not lost, not past its expiry.
  bool held() const;

 private:
  explicit LockGuard(std::shared_ptr<internal::LockState> state);
  std::shared_ptr<internal::LockState> state_;
};

// Several locks taken in one canonical order, all or nothing (RAII like LockGuard).
class LockSet {
 public:
  static core::Result<LockSet> Acquire(Session& session, const std::vector<std::string>& names,
                                       LockMode mode = LockMode::kExclusive,
                                       core::Duration wait = core::Duration::zero(),
                                       LockOptions options = {});
  LockSet(LockSet&&) noexcept;
  LockSet& operator=(LockSet&&) noexcept;
  ~LockSet();

  // Releases every lock of the set; returns the first error.
  core::Status Release();

  // Fencing token per lock name.
  const std::map<std::string, std::uint64_t>& tokens() const;
  bool held() const;

 private:
  explicit LockSet(std::shared_ptr<internal::LockState> state);
  std::shared_ptr<internal::LockState> state_;
};

struct ElectionCallbacks {
  // Called when this candidate becomes leader, with the leadership's term.
  std::function<void(std::uint64_t term)> on_elected;
  // Called when leadership ends: resigned, session lost, another leader shown, or the
  // node unreachable for a whole session TTL.
  std::function<void()> on_lost;
};

struct ElectionOptions {
  // Backoff between failed or not-elected campaign attempts.
  ElectionBackoff backoff;
  // How long each campaign long-polls the node (wait_ms; the node caps it at max_wait).
  core::Duration campaign_wait = std::chrono::seconds(30);
  // How often a leader confirms its leadership, and a backing-off candidate checks
  // whether the election lost its leader (then it campaigns at once).
  core::Duration check_interval = std::chrono::seconds(1);
  // Seed of the jitter; 0 derives one from the session id and the election name.
  std::uint64_t seed = 0;
};

// Errors: kInvalidArgument "invalid_option".
core::Status Validate(const ElectionOptions& options);

// A campaign loop for one election: long-polls the campaign, backs off after a failed or
// not-elected attempt (reset once elected), and reports leadership through callbacks.
class Election {
 public:
  // Starts campaigning for `name` with `value`; returns at once.
  // Errors: kInvalidArgument "invalid_name" or bad options; kNotFound "unknown_session"
  // when the session is already lost.
  static core::Result<Election> Campaign(Session& session, std::string_view name,
                                         std::string_view value, ElectionCallbacks callbacks,
                                         ElectionOptions options = {});
  Election(Election&&) noexcept;
  Election& operator=(Election&&) noexcept;
  // Stops campaigning and resigns if leading, without calling back.
  ~Election();

  // Stops campaigning and, when leading, resigns, handing off to `successor` (an agent
  // or session campaigning for the same election) when given; on_lost fires.
  // Errors: kFailedPrecondition "successor_not_campaigning" (still leader, campaign
  // continues); transport errors.
  core::Status Resign(std::string_view successor = "");

  // Returns the election's current leader as the node reports it.
  core::Result<LeaderInfo> Leader() const;

  const std::string& name() const;
  bool leading() const;
  // Term of the current or last leadership; 0 before the first.
  std::uint64_t term() const;
  // Why the campaign loop ended (ok while it runs or after Resign).
  core::Status status() const;

 private:
  explicit Election(std::shared_ptr<internal::ElectionState> state);
  std::shared_ptr<internal::ElectionState> state_;
};

}  // namespace agentmesh::client
