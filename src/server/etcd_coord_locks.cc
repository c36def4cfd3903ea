// EtcdCoordService: acquiring locks and lock sets on etcd's lock recipe (see
// etcd_coord_service.h). A lock's queue is its keys by create revision; a request is
// granted when no older key conflicts with it (any older key for an exclusive request,
// an older exclusive one for a shared request), so grants are FIFO without barging.
#include <algorithm>
#include <chrono>

#include <boost/asio/this_coro.hpp>
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

EtcdCoordService::Reply EtcdCoordService::AcquireLock(const std::string& name,
                                                      const std::string& session,
                                                      coord::LockMode mode, core::Duration wait) {
  if (core::Status s = coord::ValidateName(name); !s.ok()) {
    co_return core::Err(std::move(s));
  }
  const core::TimePoint deadline = clock_.Now() + std::min(wait, options_.coord.max_wait);
  auto info = co_await KnownSession(session);
  if (!info) {
    co_return core::Err(info.error());
  }
  const std::vector<std::string> names{name};
  core::Status order = co_await CheckOrder(*info, names);
  if (!order.ok()) {
    co_return core::Err(std::move(order));
  }
  bool created = false;
  co_return co_await AcquireOne(name, *info, mode, deadline, &created);
}

asio::awaitable<core::Status> EtcdCoordService::CheckOrder(
    const SessionInfo& session, const std::vector<std::string>& missing) {
  const auto& hierarchy = options_.coord.core.locks.hierarchy;
  if (hierarchy.empty()) {
    co_return core::OkStatus();
  }
  // What the session holds: its keys under P/locks/.
  const std::string dir = Key("locks", "");
  etcd::RangeRequest req;
  req.key = dir;
  req.range_end = etcd::PrefixEnd(dir);
  auto r = co_await client_.Range(req);
  if (!r) {
    co_return r.error();
  }
  const std::string hex = etcd_coord::LeaseHex(session.lease);
  std::set<std::string> held;
  for (const etcd::KeyValue& kv : r->kvs) {
    const auto slash = kv.key.rfind('/');
    if (slash != std::string::npos && kv.key.substr(slash + 1) == hex &&
        ParseLockValue(kv.value).granted) {
      held.insert(kv.key.substr(dir.size(), slash - dir.size()));
    }
  }
  std::vector<std::string> wanted;
  for (const std::string& n : missing) {
    if (!held.contains(n)) {
      wanted.push_back(n);
    }
  }
  co_return coord::CheckLockOrder(hierarchy, hex, held, wanted);
}

asio::awaitable<CoordBackend::Json> EtcdCoordService::AcquireOne(const std::string& name,
                                                                 const SessionInfo& session,
                                                                 coord::LockMode mode,
                                                                 core::TimePoint deadline,
                                                                 bool* created) {
  const std::string hex = etcd_coord::LeaseHex(session.lease);
  const std::string dir = Key("locks", name) + "/";
  const std::string key = dir + hex;
  LockValue mine;
  mine.mode = mode;
  mine.agent = session.agent;
  // Optimistically granted: when nothing older conflicts, the one write that creates
  // the key is the grant (the common, uncontended case).
  LockValue optimistic = mine;
  optimistic.granted = true;
  optimistic.hold_until_ms = WallMs(clock_) + options_.coord.core.locks.max_hold.count();
  auto waiter = AddWaiter(dir, co_await asio::this_coro::executor);
  struct Unregister {
    EtcdCoordService* self;
    std::shared_ptr<Waiter> waiter;
    ~Unregister() { self->RemoveWaiter(waiter); }
  } unregister{this, waiter};
  // concurrency.Mutex's first step: create the key unless the session has one already,
  // while the session lives; read the queue in the same revision.
  const std::string session_key = Key("sessions", hex);
  etcd::TxnRequest create;
  create.compare.push_back(
      {key, etcd::Compare::Target::kCreateRevision, etcd::Compare::Result::kEqual, 0, ""});
  create.compare.push_back(
      {session_key, etcd::Compare::Target::kVersion, etcd::Compare::Result::kGreater, 0, ""});
  create.success.push_back(etcd::Op::Put(key, EncodeLockValue(optimistic), session.lease));
  create.success.push_back(etcd::Op::Get(dir, etcd::PrefixEnd(dir)));
  create.failure.push_back(etcd::Op::Get(key));
  create.failure.push_back(etcd::Op::Get(session_key));
  auto made = co_await client_.Txn(create);
  if (!made) {
    if (etcd_coord::IsLeaseGone(made.error())) {
      co_return core::Err(etcd_coord::UnknownSession(hex));
    }
    co_return core::Err(made.error());
  }
  *created = made->succeeded;
  if (!made->succeeded) {
    if (made->responses.size() < 2 || made->responses[1].kvs.empty()) {
      co_return core::Err(etcd_coord::UnknownSession(hex));
    }
    if (!made->responses[0].kvs.empty()) {
      const LockValue held = ParseLockValue(made->responses[0].kvs[0].value);
      if (held.granted && held.mode != mode) {
        co_return core::Err(core::InvalidArgument(
            "invalid_argument", "Session '" + hex + "' holds lock '" + name + "' in " +
                                    std::string(coord::LockModeName(held.mode)) +
                                    " mode; release it before asking for " +
                                    std::string(coord::LockModeName(mode)) + " mode."));
      }
    }
  } else {
    const std::int64_t token = made->revision;
    const bool blocked =
        made->responses.size() < 2 ||
        std::any_of(made->responses[1].kvs.begin(), made->responses[1].kvs.end(),
                    [&](const etcd::KeyValue& kv) {
                      return kv.create_revision < token &&
                             etcd_coord::ParseLeaseHex(kv.key.substr(dir.size())) &&
                             (mode == coord::LockMode::kExclusive ||
                              ParseLockValue(kv.value).mode == coord::LockMode::kExclusive);
                    });
    if (!blocked) {
      NoteGrant(key,
                etcd::KeyValue{key, EncodeLockValue(optimistic), token, token, 1, session.lease});
      Emit("lock.acquired", {{"name", name},
                             {"session", hex},
                             {"agent", session.agent},
                             {"mode", coord::LockModeName(mode)},
                             {"token", token}});
      co_return json::object{{"name", name},
                             {"token", token},
                             {"mode", coord::LockModeName(mode)},
                             {"session", hex},
                             {"expires_in_ms", options_.coord.core.locks.max_hold.count()}};
    }
    // Queued after all: say so, and wait.
    etcd::TxnRequest queue;
    queue.compare.push_back(
        {key, etcd::Compare::Target::kCreateRevision, etcd::Compare::Result::kEqual, token, ""});
    queue.success.push_back(etcd::Op::Put(key, EncodeLockValue(mine), session.lease));
    auto queued = co_await client_.Txn(queue);
    if (!queued) {
      co_return core::Err(queued.error());
    }
  }
  for (;;) {
    auto queue = co_await LoadQueue(dir);
    if (!queue) {
      co_return core::Err(queue.error());
    }
    auto own = std::find_if(queue->begin(), queue->end(),
                            [&](const Entry& e) { return e.session == hex; });
    if (own == queue->end()) {
      // The key is gone: the session ended, or its key was taken back.
      auto alive = co_await LoadSession(hex);
      if (!alive) {
        co_return core::Err(
            core::NotFound("unknown_session", "Session '" + hex + "' ended while waiting."));
      }
      co_return core::Err(core::FailedPrecondition(
          "lock_held",
          "Lock '" + name + "' is held by another session; the request was withdrawn."));
    }
    const LockValue value = ParseLockValue(own->kv.value);
    const std::int64_t token = own->kv.create_revision;
    const bool blocked = std::any_of(queue->begin(), own, [&](const Entry& e) {
      return mode == coord::LockMode::kExclusive ||
             ParseLockValue(e.kv.value).mode == coord::LockMode::kExclusive;
    });
    if (!blocked) {
      if (value.granted) {
        co_return json::object{{"name", name},
                               {"token", token},
                               {"mode", coord::LockModeName(value.mode)},
                               {"session", hex},
                               {"expires_in_ms", RemainingMs(value, WallMs(clock_))}};
      }
      LockValue granted = mine;
      granted.granted = true;
      granted.hold_until_ms = WallMs(clock_) + options_.coord.core.locks.max_hold.count();
      etcd::TxnRequest grant;
      grant.compare.push_back(
          {key, etcd::Compare::Target::kCreateRevision, etcd::Compare::Result::kEqual, token, ""});
      grant.success.push_back(etcd::Op::Put(key, EncodeLockValue(granted), session.lease));
      auto done = co_await client_.Txn(grant);
      if (!done) {
        co_return core::Err(done.error());
      }
      if (!done->succeeded) {
        continue;  // the key went in between; the next read says why
      }
      NoteGrant(key, etcd::KeyValue{key, EncodeLockValue(granted), token, done->revision, 0,
                                    session.lease});
      Emit("lock.acquired", {{"name", name},
                             {"session", hex},
                             {"agent", session.agent},
                             {"mode", coord::LockModeName(mode)},
                             {"token", token}});
      co_return json::object{{"name", name},
                             {"token", token},
                             {"mode", coord::LockModeName(mode)},
                             {"session", hex},
                             {"expires_in_ms", options_.coord.core.locks.max_hold.count()}};
    }
    bool more = clock_.Now() < deadline;
    if (more) {
      more = co_await WaitFor(*waiter, deadline);
    }
    if (!more) {
      if (*created) {
        // Withdraw, as concurrency.Mutex does when its context ends.
        etcd::TxnRequest withdraw;
        withdraw.compare.push_back({key, etcd::Compare::Target::kCreateRevision,
                                    etcd::Compare::Result::kEqual, token, ""});
        withdraw.success.push_back(etcd::Op::Delete(key));
        co_await client_.Txn(withdraw);
      }
      co_return core::Err(core::FailedPrecondition(
          "lock_held", "Lock '" + name + "' is held by another session; wait_ms ran out."));
    }
  }
}

EtcdCoordService::Reply EtcdCoordService::AcquireLockSet(const std::vector<std::string>& names,
                                                         const std::string& session,
                                                         coord::LockMode mode,
                                                         core::Duration wait) {
  std::vector<std::string> sorted = names;
  std::ranges::sort(sorted);
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const std::size_t max = options_.coord.core.locks.max_set_size;
  if (sorted.empty() || sorted.size() > max) {
    co_return core::Err(core::InvalidArgument(
        "invalid_argument", "A lock set needs 1 to " + std::to_string(max) + " names."));
  }
  for (const std::string& n : sorted) {
    if (core::Status s = coord::ValidateName(n); !s.ok()) {
      co_return core::Err(std::move(s));
    }
  }
  const core::TimePoint deadline = clock_.Now() + std::min(wait, options_.coord.max_wait);
  auto info = co_await KnownSession(session);
  if (!info) {
    co_return core::Err(info.error());
  }
  core::Status order = co_await CheckOrder(*info, sorted);
  if (!order.ok()) {
    co_return core::Err(std::move(order));
  }
  // One canonical order for everybody, so that two sets cannot deadlock; a failure
  // gives back what this call took: all or nothing.
  json::object tokens;
  json::array taken;
  std::vector<std::string> fresh;
  json::value expires = nullptr;
  core::Status failed;
  for (const std::string& n : sorted) {
    bool created = false;
    auto r = co_await AcquireOne(n, *info, mode, deadline, &created);
    if (!r) {
      failed = r.error();
      break;
    }
    if (created) {
      fresh.push_back(n);
    }
    tokens[n] = r->at("token");
    taken.emplace_back(n);
    const json::value& e = r->at("expires_in_ms");
    if (expires.is_null() || (e.is_int64() && e.as_int64() < expires.as_int64())) {
      expires = e;
    }
  }
  if (!failed.ok()) {
    const std::string hex = etcd_coord::LeaseHex(info->lease);
    const std::string no_end;
    for (const std::string& n : fresh) {
      const std::string key = LockKey(n, hex);
      co_await client_.Delete(key, no_end);
    }
    if (failed.reason() == "lock_held") {
      failed = core::FailedPrecondition(
          "lock_held", "A lock of the set is held by another session; wait_ms ran out.");
    }
    co_return core::Err(std::move(failed));
  }
  co_return json::object{{"names", std::move(taken)},
                         {"tokens", std::move(tokens)},
                         {"mode", coord::LockModeName(mode)},
                         {"session", etcd_coord::LeaseHex(info->lease)},
                         {"expires_in_ms", expires}};
}

}  // namespace agentmesh::server
