// EtcdCoordService: releasing, renewing and reading locks, and taking back holds past
// their maximum (see etcd_coord_service.h). Acquiring is in etcd_coord_locks.cc.
#include <algorithm>

#include <boost/json/serialize.hpp>

#include "agentmesh/coord/types.h"
#include "agentmesh/server/etcd_coord_service.h"

#include "server/etcd_coord_internal.h"

namespace agentmesh::server {

namespace asio = boost::asio;
namespace json = boost::json;

using etcd_coord::EncodeLockValue;
using etcd_coord::LockValue;
using etcd_coord::NotHolder;
using etcd_coord::ParseLockValue;
using etcd_coord::RemainingMs;
using etcd_coord::WallMs;

namespace {

// The checks of a call on `session`'s hold of lock `name`: a valid name, and a session
// that is a lease id (any other session holds nothing).
core::Status CheckHoldCall(const std::string& name, const std::string& session) {
  if (core::Status s = coord::ValidateName(name); !s.ok()) {
    return s;
  }
  if (!etcd_coord::ParseLeaseHex(session)) {
    return NotHolder(name, session);
  }
  return core::OkStatus();
}

}  // namespace

EtcdCoordService::Reply EtcdCoordService::ReleaseLock(const std::string& name,
                                                      const std::string& session) {
  if (core::Status s = CheckHoldCall(name, session); !s.ok()) {
    co_return core::Err(std::move(s));
  }
  const std::string key = LockKey(name, session);
  etcd::KeyValue kv;
  {
    std::lock_guard lock(shared_->mu);
    if (auto it = shared_->grants.find(key); it != shared_->grants.end()) {
      kv = it->second;
    }
  }
  if (kv.mod_revision == 0) {
    etcd::RangeRequest req;
    req.key = key;
    auto r = co_await client_.Range(req);
    if (!r) {
      co_return core::Err(r.error());
    }
    if (r->kvs.empty() || !ParseLockValue(r->kvs[0].value).granted) {
      co_return core::Err(NotHolder(name, session));
    }
    kv = r->kvs[0];
  }
  etcd::TxnRequest release;
  release.compare.push_back({key, etcd::Compare::Target::kModRevision,
                             etcd::Compare::Result::kEqual, kv.mod_revision, ""});
  release.success.push_back(etcd::Op::Delete(key));
  auto done = co_await client_.Txn(release);
  if (!done) {
    co_return core::Err(done.error());
  }
  NoteGrant(key, etcd::KeyValue{});
  if (!done->succeeded) {
    // Changed since this node wrote it (renewed elsewhere, taken back, released):
    // what it is now decides.
    etcd::RangeRequest req;
    req.key = key;
    auto r = co_await client_.Range(req);
    if (!r) {
      co_return core::Err(r.error());
    }
    if (r->kvs.empty() || !ParseLockValue(r->kvs[0].value).granted ||
        r->kvs[0].mod_revision == kv.mod_revision) {
      co_return core::Err(NotHolder(name, session));
    }
    co_return co_await ReleaseLock(name, session);
  }
  const LockValue v = ParseLockValue(kv.value);
  Emit("lock.released", {{"name", name},
                         {"session", session},
                         {"agent", v.agent},
                         {"mode", coord::LockModeName(v.mode)},
                         {"token", kv.create_revision},
                         {"reason", "released"}});
  co_return json::object{{"name", name}, {"session", session}, {"released", true}};
}

EtcdCoordService::Reply EtcdCoordService::RenewLock(const std::string& name,
                                                    const std::string& session) {
  if (core::Status s = CheckHoldCall(name, session); !s.ok()) {
    co_return core::Err(std::move(s));
  }
  const std::string key = LockKey(name, session);
  etcd::RangeRequest req;
  req.key = key;
  auto r = co_await client_.Range(req);
  if (!r) {
    co_return core::Err(r.error());
  }
  if (r->kvs.empty()) {
    co_return core::Err(NotHolder(name, session));
  }
  const etcd::KeyValue kv = r->kvs[0];
  LockValue v = ParseLockValue(kv.value);
  if (!v.granted) {
    co_return core::Err(NotHolder(name, session));
  }
  const int max_renewals = options_.coord.core.locks.max_renewals;
  if (v.renewals >= max_renewals) {
    co_return core::Err(core::FailedPrecondition(
        "max_renewals_exceeded", "Lock '" + name + "' was renewed " + std::to_string(max_renewals) +
                                     " times already; release it and acquire it again."));
  }
  v.renewals += 1;
  v.hold_until_ms = WallMs(clock_) + options_.coord.core.locks.max_hold.count();
  etcd::TxnRequest renew;
  renew.compare.push_back({key, etcd::Compare::Target::kModRevision, etcd::Compare::Result::kEqual,
                           kv.mod_revision, ""});
  renew.success.push_back(etcd::Op::Put(key, EncodeLockValue(v), kv.lease));
  auto done = co_await client_.Txn(renew);
  if (!done) {
    co_return core::Err(done.error());
  }
  if (!done->succeeded) {
    co_return core::Err(NotHolder(name, session));
  }
  NoteGrant(key, etcd::KeyValue{key, EncodeLockValue(v), kv.create_revision, done->revision, 0,
                                kv.lease});
  co_return json::object{{"name", name},
                         {"token", kv.create_revision},
                         {"mode", coord::LockModeName(v.mode)},
                         {"session", session},
                         {"expires_in_ms", options_.coord.core.locks.max_hold.count()},
                         {"renewals", v.renewals}};
}

EtcdCoordService::Reply EtcdCoordService::GetLock(const std::string& name) {
  if (core::Status s = coord::ValidateName(name); !s.ok()) {
    co_return core::Err(std::move(s));
  }
  const std::string dir = Key("locks", name) + "/";
  auto queue = co_await LoadQueue(dir);
  if (!queue) {
    co_return core::Err(queue.error());
  }
  std::vector<std::string_view> values;
  for (const Entry& e : *queue) {
    values.push_back(e.kv.value);
  }
  const long long now_ms = WallMs(clock_);
  const std::vector<etcd_coord::KeyRole> roles = etcd_coord::Roles(values, now_ms);
  json::array holders;
  std::size_t waiters = 0;
  for (std::size_t i = 0; i < roles.size(); ++i) {
    if (roles[i] != etcd_coord::KeyRole::kHolder) {
      waiters += roles[i] == etcd_coord::KeyRole::kWaiter ? 1 : 0;
      continue;
    }
    const Entry& e = (*queue)[i];
    const LockValue v = ParseLockValue(e.kv.value);
    holders.push_back(json::object{{"session", e.session},
                                   {"agent", v.ours ? json::value(v.agent) : json::value(nullptr)},
                                   {"mode", coord::LockModeName(v.mode)},
                                   {"token", e.kv.create_revision},
                                   {"expires_in_ms", RemainingMs(v, now_ms)},
                                   {"renewals", v.renewals}});
  }
  co_return json::object{{"name", name}, {"holders", std::move(holders)}, {"waiters", waiters}};
}

// Takes back holds past their maximum, and deletes waiting keys whose call is gone.
asio::awaitable<void> EtcdCoordService::ExpireLockHolds() {
  const std::string dir = Key("locks", "");
  const etcd::RangeRequest req = etcd::RangeRequest::Prefix(dir);
  auto r = co_await client_.Range(req);
  if (!r) {
    co_return;
  }
  const long long now_ms = WallMs(clock_);
  for (const etcd::KeyValue& kv : r->kvs) {
    const LockValue v = ParseLockValue(kv.value);
    const bool orphan = etcd_coord::IsOrphan(v, now_ms);
    if (!orphan && (!v.granted || v.hold_until_ms == 0 || v.hold_until_ms > now_ms)) {
      continue;
    }
    // Every node runs this; the compare makes sure one of them takes it back.
    etcd::TxnRequest take;
    take.compare.push_back({kv.key, etcd::Compare::Target::kModRevision,
                            etcd::Compare::Result::kEqual, kv.mod_revision, ""});
    take.success.push_back(etcd::Op::Delete(kv.key));
    auto done = co_await client_.Txn(take);
    if (!done || !done->succeeded || orphan) {
      continue;  // an orphan was never granted: nothing to report
    }
    const auto slash = kv.key.rfind('/');
    Emit("lock.expired", {{"name", kv.key.substr(dir.size(), slash - dir.size())},
                          {"session", kv.key.substr(slash + 1)},
                          {"agent", v.agent},
                          {"mode", coord::LockModeName(v.mode)},
                          {"token", kv.create_revision},
                          {"renewals", v.renewals}});
  }
}

}  // namespace agentmesh::server
