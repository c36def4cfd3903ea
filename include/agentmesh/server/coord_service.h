// CoordService: the IO shell around coord::Coordinator on the embedded store.
//
// Every call runs the core under one mutex, writes the objects it changed to the
// CoordStore in the same order, and answers only after that commit: a grant, a term or
// a decision is durable before anybody hears of it (kill -9 included). Calls that may
// wait (lock acquire, campaign, barrier arrival) park on a timer until another call's
// committed effects wake them or `wait` runs out. Events go to the EventSink after the
// commit; election changes also go to watchers. A ticker drives expiry (sessions, lock
// holds, barriers, proposal deadlines). Thread-safe: call from any IO thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "agentmesh/coord/coord_store.h"
#include "agentmesh/coord/coordinator.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/event.h"
#include "agentmesh/core/status.h"

namespace agentmesh::server {

// Who may hold which coordinator role (rules 1.3): the domain of each phase-1 agent, and
// the agent that holds the global role.
struct CoordinatorRoles {
  std::unordered_map<std::string, std::string> phase1_domain;  // agent -> domain
  std::string global_agent = "ai-agent-orchestrator";
};

struct CoordServiceOptions {
  coord::CoordinatorOptions core;
  // Longest `wait` a call may ask for (consensus.max_wait).
  core::Duration max_wait = std::chrono::seconds(60);
  CoordinatorRoles roles;
};

// The election name of a domain's coordinator role, and of the global one.
std::string CoordinatorElection(std::string_view domain);
inline constexpr std::string_view kGlobalCoordinatorElection = "coordinator/global";

class CoordService {
 public:
  // Coroutines take their arguments by reference (they must outlive the call) and are
  // called with named objects, never temporaries: g++ 12 destroys temporaries of class
  // type in a co_await expression twice.
  using Reply = boost::asio::awaitable<core::Result<boost::json::object>>;
  using Json = core::Result<boost::json::object>;

  CoordService(CoordServiceOptions options, coord::CoordStore& store, core::Clock& clock,
               core::EventSink* events);
  ~CoordService();
  CoordService(const CoordService&) = delete;
  CoordService& operator=(const CoordService&) = delete;

  // Loads the stored state; call once before serving.
  core::Status Restore();
  // Runs expiry on `ex` until Stop().
  void StartTicker(boost::asio::any_io_executor ex);
  void Stop();

  Reply CreateSession(const std::string& agent, std::optional<core::Duration> ttl);
  Reply RenewSession(const std::string& id);
  Reply DestroySession(const std::string& id);
  Reply GetSession(const std::string& id);

  Reply Campaign(const std::string& name, const std::string& session, const std::string& value,
                 core::Duration wait);
  Reply Resign(const std::string& name, const std::string& session, const std::string& successor);
  Reply GetElection(const std::string& name);
  // The coordinator roles: each domain's election and the global one, with holders.
  Reply Coordinators();

  Reply AcquireLock(const std::string& name, const std::string& session, coord::LockMode mode,
                    core::Duration wait);
  Reply AcquireLockSet(const std::vector<std::string>& names, const std::string& session,
                       coord::LockMode mode, core::Duration wait);
  Reply ReleaseLock(const std::string& name, const std::string& session);
  Reply RenewLock(const std::string& name, const std::string& session);
  Reply GetLock(const std::string& name);

  Reply CreateBarrier(const std::string& name, const std::vector<std::string>& participants,
                      std::optional<core::Duration> ttl);
  Reply Arrive(const std::string& name, const std::string& participant, core::Duration wait);
  Reply GetBarrier(const std::string& name);

  Reply CreateProposal(const std::string& kind, const std::string& subject,
                       const boost::json::value& payload, core::Duration deadline_in);
  Reply Vote(const std::string& id, const std::string& voter, bool approve);
  Reply GetProposal(const std::string& id);

  // Subscribes to leadership changes of election `name`: `on_change` gets the election's
  // state (as GetElection shows it) after every committed change, on the committing
  // thread; it must not block or call back into the service. Unsubscribes on destruction.
  class Watch {
   public:
    Watch(CoordService& service, std::string name,
          std::function<void(const boost::json::object&)> on_change);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

   private:
    friend class CoordService;
    CoordService& service_;
    std::string name_;
    std::function<void(const boost::json::object&)> on_change_;
  };
  std::unique_ptr<Watch> WatchElection(std::string name,
                                       std::function<void(const boost::json::object&)> on_change);

  // The election's state now, without waiting for writes in flight (for watch streams).
  Json PeekElection(const std::string& name);

  const CoordServiceOptions& options() const { return options_; }

 private:
  struct Waiter;
  struct Pending;
  using Op = std::function<coord::Outcome(coord::Coordinator&, std::uint64_t waiter,
                                          core::TimePoint now, coord::Effects&)>;

  // Reads (Get*, Coordinators) run through Run as well: they answer once every write
  // before them is durable, so nobody is shown a state a crash could take back.
  // Runs `op` under the lock, persists its effects and answers after the commit; parks
  // the call for at most `wait` when the op queued it. `timeout_error` answers a wait
  // that ran out.
  boost::asio::awaitable<Json> Run(const Op& op, core::Duration wait,
                                   const core::Status& timeout_error);
  // Persists `effects` (lock held) and returns what to do after the commit.
  std::shared_ptr<Pending> Persist(coord::Effects effects, core::TimePoint now);
  // Delivers a committed batch: wakeups, events, watchers.
  void Deliver(Pending& pending, const core::Status& committed);
  // Completes with the commit's outcome; the caller then calls Deliver.
  static auto AwaitCommit(std::shared_ptr<Pending> pending);
  void TickOnce();
  Json CoordinatorsView(const coord::Coordinator& core, core::TimePoint now) const;

  const CoordServiceOptions options_;
  coord::CoordStore& store_;
  core::Clock& clock_;
  core::EventSink* events_;

  std::mutex mu_;
  coord::Coordinator core_;                                             // guarded by mu_
  std::unordered_map<std::uint64_t, std::shared_ptr<Waiter>> waiters_;  // guarded by mu_
  std::uint64_t next_waiter_ = 1;                                       // guarded by mu_
  std::unordered_multimap<std::string, Watch*> watches_;                // guarded by mu_

  struct Ticker;
  std::shared_ptr<Ticker> ticker_;
};

}  // namespace agentmesh::server
