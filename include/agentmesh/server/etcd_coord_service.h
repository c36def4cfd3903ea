// EtcdCoordService: the coordination API on etcd (storage.coordination.backend: etcd),
// for fleets that outgrow one node. Every node of the fleet points at the same etcd and
// prefix P; etcd holds all state, so nodes are interchangeable and a node restart loses
// nothing.
//
//   sessions    etcd leases (the session id is the lease id in hex); P/sessions/ID holds
//               the agent's name, attached to the lease.
//   locks       etcd's lock recipe (clientv3/concurrency.Mutex): lock NAME is the key
//               P/locks/NAME/LEASE created with the session's lease; holders are the
//               oldest keys by create revision, and the fencing token is the holder
//               key's create revision. Shared holders mark their key's value; a key
//               with an empty value (etcdctl lock) is exclusive. So `etcdctl lock
//               P/locks/NAME` contends with agentmesh on the same lock.
//   elections   etcd's election recipe (concurrency.Election): candidates are keys
//               P/elections/NAME/LEASE valued with the campaign value; the oldest leads
//               and its create revision is the term. `etcdctl elect P/elections/NAME`
//               campaigns and observes alongside agentmesh.
//   barriers    P/barriers/NAME, attached to a lease of the barrier's TTL.
//   proposals   P/proposals/ID, without a lease (outcomes stay queryable).
// Barriers and proposals run the same sans-IO tables as the embedded backend, loaded
// from etcd and written back with compare-and-swap, so both backends enforce the same
// rules with the same errors.
//
// Waiting calls (acquire, campaign, arrive) watch the keys they wait on: one watch
// stream per node over P/ wakes them, and a wait re-reads at least once a second so that
// a broken stream only slows it down. Expiry of lock holds (max hold) and of proposal
// deadlines is enforced by every node's ticker; compare-and-swap keeps them from acting
// twice. Events: calls report what they did; the watch reports what etcd did on its own
// (session expiry and what it released). Thread-safety: call from any IO thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/event.h"
#include "agentmesh/core/status.h"
#include "agentmesh/etcd/etcd_client.h"
#include "agentmesh/server/coord_backend.h"
#include "agentmesh/server/coord_service.h"

namespace agentmesh::server {

struct EtcdCoordOptions {
  // The same rules as the embedded backend.
  CoordServiceOptions coord;
  etcd::EtcdClientOptions etcd;
  // Every key lives under it; "/agentmesh" gives /agentmesh/locks/NAME/LEASE.
  std::string prefix = "/agentmesh";
};

// Errors: kInvalidArgument "invalid_etcd_options" (prefix not starting with '/', or
// ending with one), or the client's.
core::Status Validate(const EtcdCoordOptions& options);

class EtcdCoordService final : public CoordBackend {
 public:
  // `ex` runs the watch stream and the ticker; calls may come from any executor.
  EtcdCoordService(EtcdCoordOptions options, boost::asio::any_io_executor ex, core::Clock& clock,
                   core::EventSink* events);
  ~EtcdCoordService() override;
  EtcdCoordService(const EtcdCoordService&) = delete;
  EtcdCoordService& operator=(const EtcdCoordService&) = delete;

  // Checks that etcd answers (within the request timeout), then starts the watch stream
  // and the ticker. Errors: the client's (etcd_unavailable, etcd_timeout).
  core::Status Start();
  // Ends the watch stream and the ticker and wakes waiting calls. Then, once no call
  // runs any more (the HTTP server stopped) and while the IO threads' contexts still
  // exist, CloseConnections() drops the connections to etcd they hold.
  void Stop();
  void CloseConnections() { client_.CloseIdle(); }

  core::Duration max_wait() const override { return options_.coord.max_wait; }

  Reply CreateSession(const std::string& agent, std::optional<core::Duration> ttl) override;
  Reply RenewSession(const std::string& id) override;
  Reply DestroySession(const std::string& id) override;
  Reply GetSession(const std::string& id) override;

  Reply Campaign(const std::string& name, const std::string& session, const std::string& value,
                 core::Duration wait) override;
  Reply Resign(const std::string& name, const std::string& session,
               const std::string& successor) override;
  Reply GetElection(const std::string& name) override;
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

  std::unique_ptr<Subscription> WatchElection(
      std::string name, std::function<void(const boost::json::object&)> on_change) override;

  // The key of lock `name` held or awaited by session `session` (for tests and tools).
  std::string LockKey(std::string_view name, std::string_view session) const;

 private:
  struct Waiter;
  class Watch;
  struct Shared;
  struct SessionInfo {
    std::int64_t lease = 0;
    std::string agent;
    std::string ttl;  // as the session was created with, e.g. "30s"
  };
  // One key of a lock's or an election's queue, oldest first.
  struct Entry {
    etcd::KeyValue kv;
    std::string session;  // the lease in hex
  };

  // Sessions and keys (etcd_coord_service.cc).
  boost::asio::awaitable<core::Result<SessionInfo>> LoadSession(const std::string& id);
  // The session from the cache when this node saw it alive, else LoadSession. For writes
  // whose transaction checks that the session still lives.
  boost::asio::awaitable<core::Result<SessionInfo>> KnownSession(const std::string& id);
  void Remember(const SessionInfo& info);
  // Notes (or, with an empty value, forgets) what this node wrote to lock key `key`.
  void NoteGrant(const std::string& key, etcd::KeyValue kv);
  boost::asio::awaitable<core::Result<std::vector<Entry>>> LoadQueue(const std::string& dir);
  std::string Key(std::string_view kind, std::string_view name) const;

  // Waiting (etcd_coord_watch.cc): a waiter is woken by any change under `dir`.
  std::shared_ptr<Waiter> AddWaiter(const std::string& dir, boost::asio::any_io_executor ex);
  void RemoveWaiter(const std::shared_ptr<Waiter>& waiter);
  // Waits until woken, `deadline` or a second passed; false once `deadline` passed.
  boost::asio::awaitable<bool> WaitFor(Waiter& waiter, core::TimePoint deadline);
  boost::asio::awaitable<void> WatchLoop();
  boost::asio::awaitable<void> TickLoop();
  boost::asio::awaitable<void> ExpireLockHolds();
  boost::asio::awaitable<void> ExpireProposals();
  void Dispatch(const std::vector<etcd::WatchEvent>& events, std::set<std::string>& elections);
  // Tells the watchers of `name` its state if it changed for them (by value: spawned).
  boost::asio::awaitable<void> NotifyElection(std::string name);
  void Emit(std::string type, boost::json::object data);

  // Locks (etcd_coord_locks.cc).
  // Acquires `names` (sorted, distinct) all together within `wait`. Result: the lock-set
  // view ({"names","tokens","mode","session","expires_in_ms"}).
  boost::asio::awaitable<Json> AcquireNames(const std::vector<std::string>& names,
                                            const std::string& session, coord::LockMode mode,
                                            core::Duration wait);
  boost::asio::awaitable<core::Status> CheckOrder(const SessionInfo& session,
                                                  const std::vector<std::string>& missing);

  // Elections (etcd_coord_elections.cc): the GetElection view.
  boost::asio::awaitable<Json> ElectionView(const std::string& name);

  // Barriers and proposals (etcd_coord_records.cc).
  boost::asio::awaitable<Json> ArriveOnce(const std::string& name, const std::string& participant,
                                          bool* complete);

  const EtcdCoordOptions options_;
  const boost::asio::any_io_executor ex_;
  core::Clock& clock_;
  core::EventSink* events_;
  etcd::EtcdClient client_;
  std::shared_ptr<Shared> shared_;  // what the watch and ticker coroutines share with calls
};

}  // namespace agentmesh::server
