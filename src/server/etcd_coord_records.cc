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
    etcd::RangeRequest req;
    req.key = key;
    auto r = co_await client_.Range(req);
    if (!r) {
      co_return core::Err(r.error());
    }
    std::int64_t existing_mod = 0;
    if (!r->kvs.empty()) {
      auto record = etcd_coord::ParseRecord(r->kvs[0].value);
      if (!record) {
        co_return core::Err(Corrupt(key));
      }
      if (core::Status s = table.Restore(name, record->snapshot, WrittenAt(clock_, *record));
          !s.ok()) {
        co_return core::Err(std::move(s));
      }
      existing_mod = r->kvs[0].mod_revision;
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
    etcd::TxnRequest put;
    put.compare.push_back({key, etcd::Compare::Target::kModRevision, etcd::Compare::Result::kEqual,
                           existing_mod, ""});
    put.success.push_back(etcd::Op::Put(
        key, etcd_coord::EncodeRecord(table.Snapshot(name), core::ToUnixMillis(clock_.WallNow())),
        lease->id));
    auto done = co_await client_.Txn(put);
    if (!done || !done->succeeded) {
      co_await client_.LeaseRevoke(lease->id);
      if (!done) {
        co_return core::Err(done.error());
      }
      continue;
    }
    if (existing_mod != 0 && r->kvs[0].lease != 0) {
      co_await client_.LeaseRevoke(r->kvs[0].lease);  // the replaced barrier's
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
    etcd::RangeRequest req;
    req.key = key;
    auto r = co_await client_.Range(req);
    if (!r) {
      co_return core::Err(r.error());
    }
    if (r->kvs.empty()) {
      co_return table.Get(name, now);  // unknown_barrier
    }
    const etcd::KeyValue kv = r->kvs[0];
    auto record = etcd_coord::ParseRecord(kv.value);
    if (!record) {
      co_return core::Err(Corrupt(key));
    }
    if (core::Status s = table.Restore(name, record->snapshot, WrittenAt(clock_, *record));
        !s.ok()) {
      co_return core::Err(std::move(s));
    }
    const std::uint64_t waiter = 1;
    coord::Outcome out = table.Arrive(name, participant, waiter, now, fx);
    if (!out.queued && !out.result) {
      co_return core::Err(out.result.error());
    }
    if (!fx.dirty.empty()) {
      etcd::TxnRequest put;
      put.compare.push_back({key, etcd::Compare::Target::kModRevision,
                             etcd::Compare::Result::kEqual, kv.mod_revision, ""});
      put.success.push_back(etcd::Op::Put(
          key, etcd_coord::EncodeRecord(table.Snapshot(name), core::ToUnixMillis(clock_.WallNow())),
          kv.lease));
      auto done = co_await client_.Txn(put);
      if (!done) {
        co_return core::Err(done.error());
      }
      if (!done->succeeded) {
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
  etcd::RangeRequest req;
  req.key = key;
  auto r = co_await client_.Range(req);
  if (!r) {
    co_return core::Err(r.error());
  }
  if (!r->kvs.empty()) {
    auto record = etcd_coord::ParseRecord(r->kvs[0].value);
    if (!record) {
      co_return core::Err(Corrupt(key));
    }
    if (core::Status s = table.Restore(name, record->snapshot, WrittenAt(clock_, *record));
        !s.ok()) {
      co_return core::Err(std::move(s));
    }
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
  etcd::TxnRequest put;
  put.compare.push_back(
      {key, etcd::Compare::Target::kCreateRevision, etcd::Compare::Result::kEqual, 0, ""});
  put.success.push_back(etcd::Op::Put(
      key, etcd_coord::EncodeRecord(table.Snapshot(id), core::ToUnixMillis(clock_.WallNow()))));
  auto done = co_await client_.Txn(put);
  if (!done) {
    co_return core::Err(done.error());
  }
  if (!done->succeeded) {
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
    etcd::RangeRequest req;
    req.key = key;
    if (!core::ValidateId(id, "id").ok()) {
      co_return table.Get(id, now);  // unknown_proposal
    }
    auto r = co_await client_.Range(req);
    if (!r) {
      co_return core::Err(r.error());
    }
    if (r->kvs.empty()) {
      co_return table.Get(id, now);  // unknown_proposal
    }
    const etcd::KeyValue kv = r->kvs[0];
    auto record = etcd_coord::ParseRecord(kv.value);
    if (!record) {
      co_return core::Err(Corrupt(key));
    }
    if (core::Status s = table.Restore(id, record->snapshot, WrittenAt(clock_, *record)); !s.ok()) {
      co_return core::Err(std::move(s));
    }
    auto view = table.Vote(id, voter, approve, now, fx);
    if (!view) {
      co_return core::Err(view.error());
    }
    etcd::TxnRequest put;
    put.compare.push_back({key, etcd::Compare::Target::kModRevision, etcd::Compare::Result::kEqual,
                           kv.mod_revision, ""});
    put.success.push_back(etcd::Op::Put(
        key, etcd_coord::EncodeRecord(table.Snapshot(id), core::ToUnixMillis(clock_.WallNow()))));
    auto done = co_await client_.Txn(put);
    if (!done) {
      co_return core::Err(done.error());
    }
    if (!done->succeeded) {
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
    etcd::RangeRequest req;
    req.key = key;
    auto r = co_await client_.Range(req);
    if (!r) {
      co_return core::Err(r.error());
    }
    if (!r->kvs.empty()) {
      auto record = etcd_coord::ParseRecord(r->kvs[0].value);
      if (!record) {
        co_return core::Err(Corrupt(key));
      }
      if (core::Status s = table.Restore(id, record->snapshot, WrittenAt(clock_, *record));
          !s.ok()) {
        co_return core::Err(std::move(s));
      }
    }
  }
  co_return table.Get(id, clock_.Now());
}

asio::awaitable<void> EtcdCoordService::ExpireProposals() {
  const std::string dir = Key("proposals", "");
  etcd::RangeRequest req;
  req.key = dir;
  req.range_end = etcd::PrefixEnd(dir);
  auto r = co_await client_.Range(req);
  if (!r) {
    co_return;
  }
  const core::TimePoint now = clock_.Now();
  for (const etcd::KeyValue& kv : r->kvs) {
    const std::string id = kv.key.substr(dir.size());
    auto record = etcd_coord::ParseRecord(kv.value);
    if (!record) {
      continue;
    }
    coord::ProposalTable table(options_.coord.core.proposals);
    if (!table.Restore(id, record->snapshot, WrittenAt(clock_, *record)).ok()) {
      continue;
    }
    const auto next = table.NextDeadline();
    if (!next || *next > now) {
      continue;  // decided, or still open
    }
    coord::Effects fx;
    table.Expire(now, fx);
    // Every node runs this; the compare makes sure one of them records the outcome.
    etcd::TxnRequest put;
    put.compare.push_back({kv.key, etcd::Compare::Target::kModRevision,
                           etcd::Compare::Result::kEqual, kv.mod_revision, ""});
    put.success.push_back(etcd::Op::Put(
        kv.key,
        etcd_coord::EncodeRecord(table.Snapshot(id), core::ToUnixMillis(clock_.WallNow()))));
    auto done = co_await client_.Txn(put);
    if (done && done->succeeded) {
      EmitAll(fx.events, events_, clock_);
    }
  }
}

}  // namespace agentmesh::server
