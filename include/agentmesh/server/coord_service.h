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
#include "agentmesh/server/coord_backend.h"

namespace agentmesh::server {

struct CoordServiceOptions {
  coord::CoordinatorOptions core;
  // Longest `wait` a call may ask for (consensus.max_wait).
  core::Duration max_wait = std::chrono::seconds(60);
  CoordinatorRoles roles;
};

class CoordService final : public CoordBackend {
 public:
  CoordService(CoordServiceOptions options, coord::CoordStore& store, core::Clock& clock,
               core::EventSink* events);
  ~CoordService() override;
  CoordService(const CoordService&) = delete;
  CoordService& operator=(const CoordService&) = delete;

  // Loads the stored state; call once before serving.
  core::Status Restore();
  // Runs expiry on `ex` until Stop().
  void StartTicker(boost::asio::any_io_executor ex);
  void Stop();

  Reply CreateSession(const std::string& agent, std::optional<core::Duration> ttl) override;
  Reply RenewSession(const std::string& id) override;
  Reply DestroySession(const std::string& id) override;
  Reply GetSession(const std::string& id) override;

  Reply Campaign(const std::string& name, const std::string& session, const std::string& value,
                 core::Duration wait) override;
  Reply Resign(const std::string& name, const std::string& session,
               const std::string& successor) override;
  Reply GetElection(const std::string& name) override;
  // The coordinator roles: each domain's election and the global one, with holders.
  Reply Coordinators() override;

  Reply AcquireLock(const std::string& name, const std::string& session, coord::LockMode mode,
                    core::Duration wait) override;
  Reply AcquireLockSet(const std::vector<std::string>& names, const std::string& session,
                       coord::LockMode mode, core::Duration wait) override;
  Reply ReleaseLock(const std::string& name, const std::string& session) override;
  Reply RenewLock(const std::string& name, const std::string& session) override;
  Reply GetLock(const std::string& name) override;

  Reply CreateBarrier(const std::string& name, const std::vector<std::string>& participants,
                      std::optional<core::Duration> ttl) override;
  Reply Arrive(const std::string& name, const std::string& participant,
               core::Duration wait) override;
  Reply GetBarrier(const std::string& name) override;

  Reply CreateProposal(const std::string& kind, const std::string& subject,
                       const boost::json::value& payload, core::Duration deadline_in) override;
  Reply Vote(const std::string& id, const std::string& voter, bool approve) override;
  Reply GetProposal(const std::string& id) override;

  core::Duration max_wait() const override { return options_.max_wait; }
  std::unique_ptr<Subscription> WatchElection(
      std::string name, std::function<void(const boost::json::object&)> on_change) override;

  const CoordServiceOptions& options() const { return options_; }

 private:
  struct Waiter;
  struct Pending;
  class Watch;
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
