// What the files of EtcdCoordService share: its coroutine-shared state, waiters, key
// names and value codecs (see etcd_coord_service.h). Internal to the server module.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include "agentmesh/coord/locks.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"
#include "agentmesh/etcd/etcd_client.h"
#include "agentmesh/server/etcd_coord_service.h"

namespace agentmesh::server {

// A call parked until something under `dir` changes. `woken` is guarded by Shared::mu;
// the timer is touched on the parked coroutine's executor only.
struct EtcdCoordService::Waiter {
  Waiter(std::string d, boost::asio::any_io_executor ex) : dir(std::move(d)), timer(ex) {}
  const std::string dir;
  boost::asio::steady_timer timer;
  bool woken = false;
};

// A subscriber to one election's leadership changes.
class EtcdCoordService::Watch final : public CoordBackend::Subscription {
 public:
  Watch(std::shared_ptr<Shared> shared, std::string name,
        std::function<void(const boost::json::object&)> on_change)
      : shared_(std::move(shared)), name_(std::move(name)), on_change_(std::move(on_change)) {}
  ~Watch() override;

  const std::string& name() const { return name_; }
  // Tells the subscriber unless `key` (leader, term and value) is what it last heard.
  // Requires Shared::mu.
  void Notify(const boost::json::object& state, const std::string& key) {
    if (key != shown_) {
      shown_ = key;
      on_change_(state);
    }
  }

 private:
  std::string shown_;  // guarded by Shared::mu
  std::shared_ptr<Shared> shared_;
  std::string name_;
  std::function<void(const boost::json::object&)> on_change_;
};

// State the calls, the watch loop and the ticker share; guarded by `mu`.
struct EtcdCoordService::Shared {
  std::mutex mu;
  std::multimap<std::string, std::shared_ptr<Waiter>> waiters;  // dir -> waiter
  std::multimap<std::string, Watch*> watches;                   // election -> watch
  std::set<std::int64_t> revoked;  // leases this node revoked (already reported)
  // Sessions seen alive, by lease: who they belong to never changes. Writes that rely on
  // a session being alive check it in their own transaction; the watch drops ended ones.
  std::unordered_map<std::int64_t, SessionInfo> sessions;
  // Lock keys this node granted or renewed, as written: a release from this node then
  // needs one compare-and-delete instead of a read first.
  std::unordered_map<std::string, etcd::KeyValue> grants;
  std::shared_ptr<etcd::EtcdWatch> stream;  // the open watch stream, if any
  std::shared_ptr<boost::asio::steady_timer> tick_timer;
  bool stopped = false;
  int loops = 0;  // watch and tick coroutines still running
  std::condition_variable loops_done;
};

namespace etcd_coord {

// Lease ids as etcd's recipes spell them in keys: lower-case hex without padding.
std::string LeaseHex(std::int64_t lease);
// Parses a session id back to its lease. nullopt unless 1-16 lower-case hex digits.
std::optional<std::int64_t> ParseLeaseHex(std::string_view text);

core::Status UnknownSession(std::string_view id);
core::Status NotHolder(std::string_view name, std::string_view session);
// Whether an etcd error says the lease of a put is gone.
bool IsLeaseGone(const core::Status& status);

// The value of a lock key: our JSON, or empty when etcdctl (or any concurrency.Mutex)
// made it, which is an exclusive holder without a hold limit.
struct LockValue {
  coord::LockMode mode = coord::LockMode::kExclusive;
  std::string agent;
  bool ours = false;            // written by agentmesh
  bool granted = false;         // the acquire call saw the grant
  long long hold_until_ms = 0;  // wall time (Unix ms) the hold ends; 0 = no limit
  int renewals = 0;
  // For a request still waiting: the wall time (Unix ms) its call gives up. A waiting
  // key past it (plus kOrphanGraceMs) lost its call, e.g. to a crash of its node: it
  // neither blocks nor holds, and the ticker deletes it.
  long long wait_until_ms = 0;
};
LockValue ParseLockValue(std::string_view value);
std::string EncodeLockValue(const LockValue& value);

// How long past its call's deadline a waiting key still counts (covers the time a grant
// takes to write and clock differences between nodes).
inline constexpr long long kOrphanGraceMs = 5000;
bool IsOrphan(const LockValue& value, long long now_ms);
// Whether a request in `mode` conflicts with an older key in `other` mode.
inline bool Conflicts(coord::LockMode mode, coord::LockMode other) {
  return mode == coord::LockMode::kExclusive || other == coord::LockMode::kExclusive;
}

// Wall time in Unix milliseconds: lock holds end at a wall time every node agrees on.
long long WallMs(core::Clock& clock);
// Milliseconds until the hold ends, or null for a hold without limit (etcdctl's).
boost::json::value RemainingMs(const LockValue& v, long long now_ms);
// Whether key `i` of a lock's queue (values oldest first), asking for `mode`, may hold
// the lock: no older key that is not an orphan conflicts with it. Grants are FIFO
// without barging: an older waiting request blocks a younger conflicting one.
bool FirstInLine(const std::vector<std::string_view>& values, std::size_t i, coord::LockMode mode,
                 long long now_ms);
// What each key of a lock's queue is now. A key of ours holds once its call saw the
// grant (a lock set's keys wait until the whole set is granted); a key etcdctl made
// holds when it is first in line.
enum class KeyRole { kHolder, kWaiter, kOrphan };
std::vector<KeyRole> Roles(const std::vector<std::string_view>& values, long long now_ms);

// Barrier and proposal records: a sans-IO table's snapshot and the wall time it was
// written, so that a reader can tell how much of its remaining time has passed.
std::string EncodeRecord(const boost::json::object& snapshot, long long written_ms);
struct Record {
  boost::json::object snapshot;
  long long written_ms = 0;
};
std::optional<Record> ParseRecord(std::string_view value);

}  // namespace etcd_coord
}  // namespace agentmesh::server
