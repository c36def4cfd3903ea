// CoordBackend: what the coordination API (coord_routes.h) needs from a backend. Two
// implement it: CoordService on the embedded store (the default) and EtcdCoordService on
// etcd (storage.coordination.backend: etcd). Both answer with the same JSON views and the
// same errors, so that scripts and the SDK cannot tell them apart (src/server/README.md).
// Also the rules both enforce the same way: who may hold a coordinator role.
// Thread-safety: implementations are called from every IO thread at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "agentmesh/coord/locks.h"
#include "agentmesh/coord/types.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::server {

// Who may hold which coordinator role (rules 1.3): the domain of each phase-1 agent, and
// the agent that holds the global role.
struct CoordinatorRoles {
  std::unordered_map<std::string, std::string> phase1_domain;  // agent -> domain
  std::string global_agent = "ai-agent-orchestrator";
};

// The election name of a domain's coordinator role, and of the global one.
std::string CoordinatorElection(std::string_view domain);
inline constexpr std::string_view kGlobalCoordinatorElection = "coordinator/global";
inline constexpr std::string_view kCoordinatorPrefix = "coordinator/";

// Whether `agent` may campaign for election `name`: coordinator roles are reserved for the
// agents the fleet names; every other election is open to every session.
// Errors: kPermissionDenied not_eligible.
core::Status CheckCoordinatorEligible(const CoordinatorRoles& roles, std::string_view name,
                                      std::string_view agent);

// GET /v1/coordinators from the states (GetElection views) of the coordinator elections
// that have a leader, keyed by election name.
boost::json::object CoordinatorsView(const CoordinatorRoles& roles,
                                     const std::map<std::string, boost::json::object>& held);

class CoordBackend {
 public:
  // Coroutines take their arguments by reference (they must outlive the call) and are
  // called with named objects, never temporaries: g++ 12 destroys temporaries of class
  // type in a co_await expression twice.
  using Reply = boost::asio::awaitable<core::Result<boost::json::object>>;
  using Json = core::Result<boost::json::object>;

  virtual ~CoordBackend() = default;

  // Longest `wait` a call may ask for (consensus.max_wait).
  virtual core::Duration max_wait() const = 0;

  virtual Reply CreateSession(const std::string& agent, std::optional<core::Duration> ttl) = 0;
  virtual Reply RenewSession(const std::string& id) = 0;
  virtual Reply DestroySession(const std::string& id) = 0;
  virtual Reply GetSession(const std::string& id) = 0;

  virtual Reply Campaign(const std::string& name, const std::string& session,
                         const std::string& value, core::Duration wait) = 0;
  virtual Reply Resign(const std::string& name, const std::string& session,
                       const std::string& successor) = 0;
  // Errors: kNotFound unknown_election when nobody leads.
  virtual Reply GetElection(const std::string& name) = 0;
  // The coordinator roles: each domain's election and the global one, with holders.
  virtual Reply Coordinators() = 0;

  virtual Reply AcquireLock(const std::string& name, const std::string& session,
                            coord::LockMode mode, core::Duration wait) = 0;
  virtual Reply AcquireLockSet(const std::vector<std::string>& names, const std::string& session,
                               coord::LockMode mode, core::Duration wait) = 0;
  virtual Reply ReleaseLock(const std::string& name, const std::string& session) = 0;
  virtual Reply RenewLock(const std::string& name, const std::string& session) = 0;
  virtual Reply GetLock(const std::string& name) = 0;

  virtual Reply CreateBarrier(const std::string& name, const std::vector<std::string>& participants,
                              std::optional<core::Duration> ttl) = 0;
  virtual Reply Arrive(const std::string& name, const std::string& participant,
                       core::Duration wait) = 0;
  virtual Reply GetBarrier(const std::string& name) = 0;

  virtual Reply CreateProposal(const std::string& kind, const std::string& subject,
                               const boost::json::value& payload, core::Duration deadline_in) = 0;
  virtual Reply Vote(const std::string& id, const std::string& voter, bool approve) = 0;
  virtual Reply GetProposal(const std::string& id) = 0;

  // A subscription to leadership changes; unsubscribes on destruction.
  class Subscription {
   public:
    virtual ~Subscription() = default;
  };
  // Subscribes to leadership changes of election `name`: `on_change` gets the election's
  // state (as GetElection shows it, or {"name","leader":null} when nobody leads) now and
  // after every change of leader, term or value, in order, from any thread (possibly
  // before WatchElection returns); it must not block or call back into the backend.
  virtual std::unique_ptr<Subscription> WatchElection(
      std::string name, std::function<void(const boost::json::object&)> on_change) = 0;
};

}  // namespace agentmesh::server
