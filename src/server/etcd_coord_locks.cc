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
  const std::vector<std::string> names{name};
  auto r = co_await AcquireNames(names, session, mode, wait);
  if (!r) {
    co_return r;
  }
  json::object& set = *r;
  co_return json::object{{"name", name},
                         {"token", set.at("tokens").as_object().at(name)},
                         {"mode", set.at("mode")},
                         {"session", set.at("session")},
                         {"expires_in_ms", set.at("expires_in_ms")}};
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
  auto r = co_await AcquireNames(sorted, session, mode, wait);
  if (!r && r.error().reason() == "lock_held") {
    co_return core::Err(core::FailedPrecondition(
        "lock_held", "A lock of the set is held by another session; wait_ms ran out."));
  }
  co_return r;
}

asio::awaitable<core::Status> EtcdCoordService::CheckOrder(
    const SessionInfo& session, const std::vector<std::string>& missing) {
  const auto& hierarchy = options_.coord.core.locks.hierarchy;
  if (hierarchy.empty()) {
    co_return core::OkStatus();
  }
  // What the session holds: its keys under P/locks/.
  const std::string dir = Key("locks", "");
  const etcd::RangeRequest req = etcd::RangeRequest::Prefix(dir);
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

// One request for one or more locks (sorted, distinct names), as etcd's lock recipe
// with one key per lock and session. When every lock is free, one transaction creates
// the keys granted. Otherwise the request queues: its waiting keys are created in one
// transaction (so a set queues at the same revision on every lock and two sets cannot
// wait for each other), and once it is first in line on every lock, one transaction
// marks them all granted. Until then it holds none of them. Only granted keys hold.
asio::awaitable<CoordBackend::Json> EtcdCoordService::AcquireNames(
    const std::vector<std::string>& names, const std::string& session, coord::LockMode mode,
    core::Duration wait) {
  const core::TimePoint deadline = clock_.Now() + std::min(wait, options_.coord.max_wait);
  auto info = co_await KnownSession(session);
  if (!info) {
    co_return core::Err(info.error());
  }
  core::Status order = co_await CheckOrder(*info, names);
  if (!order.ok()) {
    co_return core::Err(std::move(order));
  }
  const std::string hex = etcd_coord::LeaseHex(info->lease);
  const std::string session_key = Key("sessions", hex);
  const std::size_t n = names.size();
  std::vector<std::string> dirs;
  std::vector<std::string> keys;
  for (const std::string& name : names) {
    dirs.push_back(Key("locks", name) + "/");
    keys.push_back(dirs.back() + hex);
  }
  const long long max_hold_ms = options_.coord.core.locks.max_hold.count();
  // A waiting key says until when its call waits: past that (and a grace) nobody waits
  // for it any more (etcd_coord::IsOrphan). A granted key says until when it holds.
  LockValue waiting;
  waiting.mode = mode;
  waiting.agent = info->agent;
  waiting.wait_until_ms =
      WallMs(clock_) +
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.Now()).count();
  const auto granted_value = [&] {
    LockValue v = waiting;
    v.granted = true;
    v.wait_until_ms = 0;
    v.hold_until_ms = WallMs(clock_) + max_hold_ms;
    return v;
  };
  // A set may wait on any of its locks: it wakes on every lock change.
  const std::string wait_dir = n == 1 ? dirs[0] : Key("locks", "");
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto waiter = AddWaiter(wait_dir, ex);
  struct Unregister {
    EtcdCoordService* self;
    std::shared_ptr<Waiter> waiter;
    ~Unregister() { self->RemoveWaiter(waiter); }
  } unregister{this, waiter};
  std::vector<std::int64_t> tokens(n, 0);  // create revisions of the session's keys
  std::vector<bool> created(n, false);     // made by this call (withdrawn if it fails)
  const auto answer = [&](long long expires_ms) {
    json::object by_name;
    json::array list;
    for (std::size_t i = 0; i < n; ++i) {
      by_name[names[i]] = tokens[i];
      list.emplace_back(names[i]);
    }
    return json::object{{"names", std::move(list)},
                        {"tokens", std::move(by_name)},
                        {"mode", coord::LockModeName(mode)},
                        {"session", hex},
                        {"expires_in_ms", expires_ms}};
  };
  const auto report = [&](const LockValue& v, std::int64_t revision) {
    for (std::size_t i = 0; i < n; ++i) {
      NoteGrant(keys[i],
                etcd::KeyValue{keys[i], EncodeLockValue(v), tokens[i], revision, 0, info->lease});
      Emit("lock.acquired", {{"name", names[i]},
                             {"session", hex},
                             {"agent", info->agent},
                             {"mode", coord::LockModeName(mode)},
                             {"token", tokens[i]}});
    }
  };

  for (int attempt = 0;; ++attempt) {
    if (attempt == 4) {
      co_return core::Err(core::Status(core::StatusCode::kAborted, "conflict",
                                       "The session's lock keys changed during the request."));
    }
    // Every lock free and the session alive: one write grants them all.
    const LockValue grant_now = granted_value();
    etcd::TxnRequest fast;
    for (std::size_t i = 0; i < n; ++i) {
      fast.compare.push_back({dirs[i], etcd::Compare::Target::kVersion,
                              etcd::Compare::Result::kEqual, 0, "", etcd::PrefixEnd(dirs[i])});
      fast.success.push_back(etcd::Op::Put(keys[i], EncodeLockValue(grant_now), info->lease));
      fast.failure.push_back(etcd::Op::Get(keys[i]));
    }
    fast.compare.push_back(
        {session_key, etcd::Compare::Target::kVersion, etcd::Compare::Result::kGreater, 0, ""});
    fast.failure.push_back(etcd::Op::Get(session_key));
    auto made = co_await client_.Txn(fast);
    if (!made) {
      if (etcd_coord::IsLeaseGone(made.error())) {
        co_return core::Err(etcd_coord::UnknownSession(hex));
      }
      co_return core::Err(made.error());
    }
    if (made->succeeded) {
      std::fill(tokens.begin(), tokens.end(), made->revision);
      report(grant_now, made->revision);
      co_return answer(max_hold_ms);
    }
    if (made->responses.size() != n + 1 || made->responses[n].kvs.empty()) {
      co_return core::Err(etcd_coord::UnknownSession(hex));
    }
    // Keep the session's grants in this mode; drop its keys that were never granted
    // (another call's, or one whose call is gone): this request queues at the back.
    etcd::TxnRequest queue;
    for (std::size_t i = 0; i < n; ++i) {
      tokens[i] = 0;
      if (made->responses[i].kvs.empty()) {
        queue.compare.push_back({keys[i], etcd::Compare::Target::kCreateRevision,
                                 etcd::Compare::Result::kEqual, 0, ""});
        queue.success.push_back(etcd::Op::Put(keys[i], EncodeLockValue(waiting), info->lease));
        continue;
      }
      const etcd::KeyValue& kv = made->responses[i].kvs[0];
      const LockValue held = ParseLockValue(kv.value);
      if (held.granted && held.mode != mode) {
        co_return core::Err(core::InvalidArgument(
            "invalid_argument", "Session '" + hex + "' holds lock '" + names[i] + "' in " +
                                    std::string(coord::LockModeName(held.mode)) +
                                    " mode; release it before asking for " +
                                    std::string(coord::LockModeName(mode)) + " mode."));
      }
      if (held.granted) {
        tokens[i] = kv.create_revision;
        queue.compare.push_back({keys[i], etcd::Compare::Target::kModRevision,
                                 etcd::Compare::Result::kEqual, kv.mod_revision, ""});
      } else {
        queue.compare.push_back({keys[i], etcd::Compare::Target::kModRevision,
                                 etcd::Compare::Result::kEqual, kv.mod_revision, ""});
        queue.success.push_back(etcd::Op::Delete(keys[i]));
      }
    }
    if (std::all_of(tokens.begin(), tokens.end(), [](std::int64_t t) { return t != 0; })) {
      break;  // the session holds them all already
    }
    queue.compare.push_back(
        {session_key, etcd::Compare::Target::kVersion, etcd::Compare::Result::kGreater, 0, ""});
    auto queued = co_await client_.Txn(queue);
    if (!queued) {
      if (etcd_coord::IsLeaseGone(queued.error())) {
        co_return core::Err(etcd_coord::UnknownSession(hex));
      }
      co_return core::Err(queued.error());
    }
    if (!queued->succeeded) {
      continue;  // the keys or the session changed meanwhile: look again
    }
    bool dropped = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (tokens[i] == 0) {
        created[i] = true;
      }
      dropped = dropped || (!made->responses[i].kvs.empty() && tokens[i] == 0);
    }
    if (dropped) {
      // A put after a delete of the same key cannot share a transaction: create the
      // dropped keys now.
      etcd::TxnRequest recreate;
      for (std::size_t i = 0; i < n; ++i) {
        if (!made->responses[i].kvs.empty() && tokens[i] == 0) {
          recreate.compare.push_back({keys[i], etcd::Compare::Target::kCreateRevision,
                                      etcd::Compare::Result::kEqual, 0, ""});
          recreate.success.push_back(etcd::Op::Put(keys[i], EncodeLockValue(waiting), info->lease));
        }
      }
      auto again = co_await client_.Txn(recreate);
      if (!again) {
        co_return core::Err(again.error());
      }
    }
    break;
  }

  // Withdraws the keys this call made, as concurrency.Mutex does when its context ends.
  const auto withdraw = [&]() -> asio::awaitable<void> {
    etcd::TxnRequest undo;
    for (std::size_t i = 0; i < n; ++i) {
      if (created[i] && tokens[i] != 0) {
        undo.compare.push_back({keys[i], etcd::Compare::Target::kCreateRevision,
                                etcd::Compare::Result::kEqual, tokens[i], ""});
        undo.success.push_back(etcd::Op::Delete(keys[i]));
      }
    }
    if (!undo.success.empty()) {
      co_await client_.Txn(undo);
    }
  };
  std::vector<LockValue> current(n);
  for (;;) {
    etcd::TxnRequest read;  // every queue in one revision
    for (std::size_t i = 0; i < n; ++i) {
      read.success.push_back(etcd::Op::Get(dirs[i], etcd::PrefixEnd(dirs[i])));
    }
    auto now = co_await client_.Txn(read);
    if (!now) {
      co_return core::Err(now.error());
    }
    const long long now_ms = WallMs(clock_);
    bool ready = true;
    bool gone = false;
    for (std::size_t i = 0; i < n && !gone; ++i) {
      std::vector<etcd::KeyValue> q = now->responses[i].kvs;
      std::erase_if(q, [&](const etcd::KeyValue& kv) {
        return !etcd_coord::ParseLeaseHex(std::string_view(kv.key).substr(dirs[i].size()));
      });
      std::ranges::sort(q, {}, &etcd::KeyValue::create_revision);
      auto own = std::ranges::find(q, keys[i], &etcd::KeyValue::key);
      if (own == q.end()) {
        gone = true;
        break;
      }
      tokens[i] = own->create_revision;
      current[i] = ParseLockValue(own->value);
      std::vector<std::string_view> values;
      for (const etcd::KeyValue& kv : q) {
        values.push_back(kv.value);
      }
      ready = ready && etcd_coord::FirstInLine(values, static_cast<std::size_t>(own - q.begin()),
                                               mode, now_ms);
    }
    if (gone) {
      co_await withdraw();
      auto alive = co_await LoadSession(hex);
      if (!alive) {
        co_return core::Err(
            core::NotFound("unknown_session", "Session '" + hex + "' ended while waiting."));
      }
      co_return core::Err(core::FailedPrecondition(
          "lock_held",
          "Lock '" + names[0] + "' is held by another session; the request was withdrawn."));
    }
    if (ready &&
        std::all_of(current.begin(), current.end(), [](const LockValue& v) { return v.granted; })) {
      // The session holds them all already: answer the grant, as the embedded backend.
      long long left = max_hold_ms;
      for (const LockValue& v : current) {
        const json::value r = RemainingMs(v, now_ms);
        left = std::min<long long>(left, r.is_int64() ? r.as_int64() : max_hold_ms);
      }
      co_return answer(left);
    }
    if (ready && now_ms <= waiting.wait_until_ms + etcd_coord::kOrphanGraceMs / 2) {
      // Granted only while its keys are surely not passed over as orphans (IsOrphan
      // waits a whole grace past the call's deadline); a wait_ms of 0 gets its one look.
      const LockValue grant = granted_value();
      etcd::TxnRequest confirm;
      for (std::size_t i = 0; i < n; ++i) {
        confirm.compare.push_back({keys[i], etcd::Compare::Target::kCreateRevision,
                                   etcd::Compare::Result::kEqual, tokens[i], ""});
        confirm.success.push_back(etcd::Op::Put(keys[i], EncodeLockValue(grant), info->lease));
      }
      auto done = co_await client_.Txn(confirm);
      if (!done) {
        co_return core::Err(done.error());
      }
      if (!done->succeeded) {
        continue;  // a key went in between; the next read says why
      }
      report(grant, done->revision);
      co_return answer(max_hold_ms);
    }
    bool more = clock_.Now() < deadline;
    if (more) {
      more = co_await WaitFor(*waiter, deadline);
    }
    if (!more) {
      co_await withdraw();
      co_return core::Err(core::FailedPrecondition(
          "lock_held", "Lock '" + names[0] + "' is held by another session; wait_ms ran out."));
    }
  }
}

}  // namespace agentmesh::server
