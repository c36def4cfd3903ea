// EtcdCoordService: barriers and quorum proposals (see etcd_coord_service.h). Each
// call loads the record into the same sans-IO table the embedded backend runs, applies
// the request there and writes the result back only if the record did not change in
// between (compare on its mod revision), retrying otherwise. So both backends share one
// implementation of the rules.
#include <chrono>

#include <boost/asio/this_coro.hpp>

#include "agentmesh/coord/barriers.h"
#include "agentmesh/coord/proposals.h"
#include "agentmesh/core/duration.h"
#include "agentmesh/core/ids.h"
#include "agentmesh/server/etcd_coord_service.h"

#include "server/etcd_coord_internal.h"

namespace agentmesh::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Attempts at a compare-and-swap before the call reports the conflict.
constexpr int kCasAttempts = 16;

core::Status Conflict(std::string_view what) {
  return core::Status(core::StatusCode::kAborted, "conflict",
                      std::string(what) + " changed too often while this call ran; try again.");
}

core::Status Corrupt(std::string_view key) {
  return core::Status(core::StatusCode::kDataLoss, "store_corrupt",
                      "etcd key '" + std::string(key) + "' does not hold an agentmesh record.");
}

// The steady time a record's remaining times count from: when it was written.
core::TimePoint WrittenAt(core::Clock& clock, const etcd_coord::Record& r) {
  const long long elapsed = core::ToUnixMillis(clock.WallNow()) - r.written_ms;
  return clock.Now() - std::chrono::milliseconds(std::max<long long>(0, elapsed));
}

// Restores record `kv` (already read) into `table` as `name`.
template <typename Table>
core::Status RestoreRecord(core::Clock& clock, const etcd::KeyValue& kv, const std::string& name,
                           Table& table) {
  auto record = etcd_coord::ParseRecord(kv.value);
  if (!record) {
    return Corrupt(kv.key);
  }
  return table.Restore(name, record->snapshot, WrittenAt(clock, *record));
}

// Reads record `key` into `table` as `name`. Result: its key-value; mod_revision 0 when
// there is no such record (the table then does not have `name` either).
template <typename Table>
asio::awaitable<core::Result<etcd::KeyValue>> LoadRecord(etcd::EtcdClient& client,
                                                         core::Clock& clock, const std::string& key,
                                                         const std::string& name, Table& table) {
  etcd::RangeRequest req;
  req.key = key;
  auto r = co_await client.Range(req);
  if (!r) {
    co_return core::Err(r.error());
  }
  if (r->kvs.empty()) {
    co_return etcd::KeyValue{};
  }
  if (core::Status s = RestoreRecord(clock, r->kvs[0], name, table); !s.ok()) {
    co_return core::Err(std::move(s));
  }
  co_return std::move(r->kvs[0]);
}

// Writes `table`'s `name` to `key` with `lease` unless the key's mod revision is no
// longer `expected` (0: the key must not exist). Result: whether it was written.
template <typename Table>
asio::awaitable<core::Result<bool>> StoreRecord(etcd::EtcdClient& client, core::Clock& clock,
                                                const std::string& key, const std::string& name,
                                                const Table& table, std::int64_t expected,
                                                std::int64_t lease) {
  etcd::TxnRequest put;
  put.compare.push_back(
      {key, etcd::Compare::Target::kModRevision, etcd::Compare::Result::kEqual, expected, ""});
  put.success.push_back(etcd::Op::Put(
      key, etcd_coord::EncodeRecord(table.Snapshot(name), core::ToUnixMillis(clock.WallNow())),
      lease));
  auto done = co_await client.Txn(put);
  if (!done) {
    co_return core::Err(done.error());
  }
  co_return done->succeeded;
}

void EmitAll(std::vector<core::Event>& events, core::EventSink* sink, core::Clock& clock) {
  if (sink == nullptr) {
    return;
  }
  for (core::Event& e : events) {
    e.timestamp = clock.WallNow();
    sink->Emit(std::move(e));
  }
}

}  // namespace

EtcdCoordService::Reply EtcdCoordService::CreateBarrier(
    const std::string& name, const std::vector<std::string>& participants,
    std::optional<core::Duration> ttl) {
  const std::string key = Key("barriers", name);
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    const core::TimePoint now = clock_.Now();
    coord::BarrierTable table(options_.coord.core.barriers);
    coord::Effects fx;
    // An existing barrier goes into the table first, so that the table refuses a
    // duplicate (or replaces one whose TTL ran out) exactly as the embedded one does.
    auto existing = co_await LoadRecord(client_, clock_, key, name, table);
    if (!existing) {
      co_return core::Err(existing.error());
    }
    auto view = table.Create(name, participants, ttl.value_or(core::Duration::zero()), now, fx);
    if (!view) {
      co_return core::Err(view.error());
    }
    // The lease lets etcd delete the barrier when its TTL ends, even with no node up.
    const auto lifetime = core::ParseDuration(std::string(view->at("ttl").as_string()));
    const std::int64_t seconds =
        std::chrono::ceil<std::chrono::seconds>(lifetime.value_or(std::chrono::seconds(1)))
            .count() +
        1;
    const std::int64_t any_id = 0;
    auto lease = co_await client_.LeaseGrant(seconds, any_id);
    if (!lease) {
      co_return core::Err(lease.error());
    }
    auto done =
        co_await StoreRecord(client_, clock_, key, name, table, existing->mod_revision, lease->id);
    if (!done || !*done) {
      co_await client_.LeaseRevoke(lease->id);
      if (!done) {
        co_return core::Err(done.error());
      }
      continue;
    }
    if (existing->lease != 0) {
      co_await client_.LeaseRevoke(existing->lease);  // the replaced barrier's
    }
    EmitAll(fx.events, events_, clock_);
    co_return std::move(*view);
  }
  co_return core::Err(Conflict("Barrier '" + name + "'"));
}

asio::awaitable<CoordBackend::Json> EtcdCoordService::ArriveOnce(const std::string& name,
                                                                 const std::string& participant,
                                                                 bool* complete) {
  const std::string key = Key("barriers", name);
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    const core::TimePoint now = clock_.Now();
    coord::BarrierTable table(options_.coord.core.barriers);
    coord::Effects fx;
    auto kv = co_await LoadRecord(client_, clock_, key, name, table);
    if (!kv) {
      co_return core::Err(kv.error());
    }
    if (kv->mod_revision == 0) {
      co_return table.Get(name, now);  // unknown_barrier
    }
    const std::uint64_t waiter = 1;
    coord::Outcome out = table.Arrive(name, participant, waiter, now, fx);
    if (!out.queued && !out.result) {
      co_return core::Err(out.result.error());
    }
    if (!fx.dirty.empty()) {
      auto done =
          co_await StoreRecord(client_, clock_, key, name, table, kv->mod_revision, kv->lease);
      if (!done) {
        co_return core::Err(done.error());
      }
      if (!*done) {
        continue;
      }
    }
    EmitAll(fx.events, events_, clock_);
    *complete = !out.queued;
    if (out.queued) {
      co_return table.Get(name, now);
    }
    co_return std::move(out.result);
  }
  co_return core::Err(Conflict("Barrier '" + name + "'"));
}

EtcdCoordService::Reply EtcdCoordService::Arrive(const std::string& name,
                                                 const std::string& participant,
                                                 core::Duration wait) {
  if (core::Status s = coord::ValidateName(name); !s.ok()) {
    co_return core::Err(std::move(s));
  }
  const core::TimePoint deadline = clock_.Now() + std::min(wait, options_.coord.max_wait);
  const std::string key = Key("barriers", name);
  auto waiter = AddWaiter(key, co_await asio::this_coro::executor);
  struct Unregister {
    EtcdCoordService* self;
    std::shared_ptr<Waiter> waiter;
    ~Unregister() { self->RemoveWaiter(waiter); }
  } unregister{this, waiter};
  bool complete = false;
  auto arrived = co_await ArriveOnce(name, participant, &complete);
  if (!arrived || complete) {
    co_return arrived;
  }
  for (;;) {
    bool more = clock_.Now() < deadline;
    if (more) {
      more = co_await WaitFor(*waiter, deadline);
    }
    auto view = co_await GetBarrier(name);
    if (!view) {
      co_return view;
    }
    if (const auto* c = view->if_contains("complete");
        c != nullptr && c->is_bool() && c->as_bool()) {
      co_return view;
    }
    if (!more) {
      co_return core::Err(core::FailedPrecondition(
          "barrier_incomplete",
          "Not every participant of barrier '" + name + "' arrived before wait_ms ran out."));
    }
  }
}

EtcdCoordService::Reply EtcdCoordService::GetBarrier(const std::string& name) {
  if (core::Status s = coord::ValidateName(name); !s.ok()) {
    co_return core::Err(std::move(s));
  }
  const std::string key = Key("barriers", name);
  coord::BarrierTable table(options_.coord.core.barriers);
  auto kv = co_await LoadRecord(client_, clock_, key, name, table);
  if (!kv) {
    co_return core::Err(kv.error());
  }
  co_return table.Get(name, clock_.Now());
}

EtcdCoordService::Reply EtcdCoordService::CreateProposal(const std::string& kind,
                                                         const std::string& subject,
                                                         const json::value& payload,
                                                         core::Duration deadline_in) {
  auto parsed = coord::ParseProposalKind(kind);
  if (!parsed) {
    co_return core::Err(parsed.error());
  }
  const std::string id = core::NewRandomId();
  const core::TimePoint now = clock_.Now();
  coord::ProposalTable table(options_.coord.core.proposals);
  coord::Effects fx;
  auto view = table.Create(id, *parsed, subject, payload, now + deadline_in, now, fx);
  if (!view) {
    co_return core::Err(view.error());
  }
  const std::string key = Key("proposals", id);
  const std::int64_t absent = 0;
  const std::int64_t no_lease = 0;
  auto done = co_await StoreRecord(client_, clock_, key, id, table, absent, no_lease);
  if (!done) {
    co_return core::Err(done.error());
  }
  if (!*done) {
    co_return core::Err(core::Status(core::StatusCode::kAlreadyExists, "proposal_exists",
                                     "Proposal '" + id + "' exists."));
  }
  EmitAll(fx.events, events_, clock_);
  co_return std::move(*view);
}

EtcdCoordService::Reply EtcdCoordService::Vote(const std::string& id, const std::string& voter,
                                               bool approve) {
  const std::string key = Key("proposals", id);
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    const core::TimePoint now = clock_.Now();
    coord::ProposalTable table(options_.coord.core.proposals);
    coord::Effects fx;
    if (!core::ValidateId(id, "id").ok()) {
      co_return table.Get(id, now);  // unknown_proposal
    }
    auto kv = co_await LoadRecord(client_, clock_, key, id, table);
    if (!kv) {
      co_return core::Err(kv.error());
    }
    if (kv->mod_revision == 0) {
      co_return table.Get(id, now);  // unknown_proposal
    }
    auto view = table.Vote(id, voter, approve, now, fx);
    if (!view) {
      co_return core::Err(view.error());
    }
    const std::int64_t no_lease = 0;
    auto done = co_await StoreRecord(client_, clock_, key, id, table, kv->mod_revision, no_lease);
    if (!done) {
      co_return core::Err(done.error());
    }
    if (!*done) {
      continue;
    }
    EmitAll(fx.events, events_, clock_);
    co_return std::move(*view);
  }
  co_return core::Err(Conflict("Proposal '" + id + "'"));
}

EtcdCoordService::Reply EtcdCoordService::GetProposal(const std::string& id) {
  coord::ProposalTable table(options_.coord.core.proposals);
  if (core::ValidateId(id, "id").ok()) {
    const std::string key = Key("proposals", id);
    auto kv = co_await LoadRecord(client_, clock_, key, id, table);
    if (!kv) {
      co_return core::Err(kv.error());
    }
  }
  co_return table.Get(id, clock_.Now());
}

asio::awaitable<void> EtcdCoordService::ExpireProposals() {
  const std::string dir = Key("proposals", "");
  const etcd::RangeRequest req = etcd::RangeRequest::Prefix(dir);
  auto r = co_await client_.Range(req);
  if (!r) {
    co_return;
  }
  const core::TimePoint now = clock_.Now();
  for (const etcd::KeyValue& kv : r->kvs) {
    const std::string id = kv.key.substr(dir.size());
    coord::ProposalTable table(options_.coord.core.proposals);
    if (!RestoreRecord(clock_, kv, id, table).ok()) {
      continue;
    }
    const auto next = table.NextDeadline();
    if (!next || *next > now) {
      continue;  // decided, or still open
    }
    coord::Effects fx;
    table.Expire(now, fx);
    // Every node runs this; the compare makes sure one of them records the outcome.
    const std::int64_t no_lease = 0;
    auto done = co_await StoreRecord(client_, clock_, kv.key, id, table, kv.mod_revision, no_lease);
    if (done && *done) {
      EmitAll(fx.events, events_, clock_);
    }
  }
}

}  // namespace agentmesh::server
