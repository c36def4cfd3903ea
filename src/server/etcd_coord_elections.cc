// EtcdCoordService: elections on etcd's election recipe and the coordinator roles (see
// etcd_coord_service.h). Candidates are keys by create revision; the oldest leads, and
// its create revision is the term, so terms only grow.
#include <algorithm>
#include <map>

#include <boost/asio/this_coro.hpp>

#include "agentmesh/coord/types.h"
#include "agentmesh/server/etcd_coord_service.h"

#include "server/etcd_coord_internal.h"

namespace agentmesh::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

core::Status UnknownElection(std::string_view name) {
  return core::NotFound("unknown_election", "No election named '" + std::string(name) +
                                                "' has a leader; campaign to create it.");
}

core::Status NotElected(std::string_view name) {
  return core::FailedPrecondition(
      "not_elected", "Election '" + std::string(name) + "' has another leader; wait_ms ran out.");
}

}  // namespace

asio::awaitable<CoordBackend::Json> EtcdCoordService::ElectionView(const std::string& name) {
  const std::string dir = Key("elections", name) + "/";
  auto queue = co_await LoadQueue(dir);
  if (!queue) {
    co_return core::Err(queue.error());
  }
  if (queue->empty()) {
    co_return core::Err(UnknownElection(name));
  }
  const Entry& leader = queue->front();
  json::value agent = nullptr;  // unknown for candidates that are no session of ours
  if (auto info = co_await LoadSession(leader.session); info) {
    agent = info->agent;
  }
  co_return json::object{
      {"name", name},
      {"leader", {{"session", leader.session}, {"agent", agent}, {"value", leader.kv.value}}},
      {"term", leader.kv.create_revision},
      {"candidates", queue->size() - 1}};
}

EtcdCoordService::Reply EtcdCoordService::Campaign(const std::string& name,
                                                   const std::string& session,
                                                   const std::string& value, core::Duration wait) {
  if (core::Status s = coord::ValidateName(name); !s.ok()) {
    co_return core::Err(std::move(s));
  }
  const core::TimePoint deadline = clock_.Now() + std::min(wait, options_.coord.max_wait);
  auto info = co_await KnownSession(session);
  if (!info) {
    co_return core::Err(info.error());
  }
  if (core::Status e = CheckCoordinatorEligible(options_.coord.roles, name, info->agent); !e.ok()) {
    co_return core::Err(std::move(e));
  }
  const std::string dir = Key("elections", name) + "/";
  const std::string key = dir + session;
  auto waiter = AddWaiter(dir, co_await asio::this_coro::executor);
  struct Unregister {
    EtcdCoordService* self;
    std::shared_ptr<Waiter> waiter;
    ~Unregister() { self->RemoveWaiter(waiter); }
  } unregister{this, waiter};
  bool created = false;
  bool first = true;
  bool fresh = false;      // leadership would be new: this call joined or waited
  bool withdrawn = false;  // the wait ran out: the call only withdraws or finds it leads
  for (;;) {
    auto queue = co_await LoadQueue(dir);
    if (!queue) {
      co_return core::Err(queue.error());
    }
    auto own = std::find_if(queue->begin(), queue->end(),
                            [&](const Entry& e) { return e.session == session; });
    if (own == queue->end() && withdrawn) {
      co_return core::Err(NotElected(name));
    }
    if (own == queue->end()) {
      // concurrency.Election.Campaign: create the key with the session's lease. Also
      // how a candidate a handoff re-queued gets its place back.
      etcd::TxnRequest join;
      join.compare.push_back(
          {key, etcd::Compare::Target::kCreateRevision, etcd::Compare::Result::kEqual, 0, ""});
      join.success.push_back(etcd::Op::Put(key, value, info->lease));
      auto made = co_await client_.Txn(join);
      if (!made) {
        if (etcd_coord::IsLeaseGone(made.error())) {
          co_return core::Err(
              first ? etcd_coord::UnknownSession(session)
                    : core::NotFound("unknown_session",
                                     "Session '" + session + "' ended while waiting."));
        }
        co_return core::Err(made.error());
      }
      created = created || made->succeeded;
      fresh = true;
      first = false;
      continue;
    }
    if (own->kv.value != value) {
      // Proclaim: the same candidacy with the new value (the leader's value changes in
      // place, its term stays).
      etcd::TxnRequest proclaim;
      proclaim.compare.push_back({key, etcd::Compare::Target::kCreateRevision,
                                  etcd::Compare::Result::kEqual, own->kv.create_revision, ""});
      proclaim.success.push_back(etcd::Op::Put(key, value, info->lease));
      auto done = co_await client_.Txn(proclaim);
      if (!done) {
        co_return core::Err(done.error());
      }
      continue;
    }
    const std::int64_t term = own->kv.create_revision;
    if (own == queue->begin()) {
      if (fresh) {
        Emit("election.elected",
             {{"name", name}, {"session", session}, {"agent", info->agent}, {"term", term}});
      }
      co_return json::object{
          {"name", name},
          {"leader", {{"session", session}, {"agent", info->agent}, {"value", value}}},
          {"term", term}};
    }
    first = false;
    fresh = true;
    bool more = clock_.Now() < deadline;
    if (more) {
      more = co_await WaitFor(*waiter, deadline);
    }
    if (!more) {
      if (!created) {
        co_return core::Err(NotElected(name));
      }
      // Withdraw the key this call made, but only while a candidate is still ahead of
      // it: the queue read above may be stale, and if the leader left meanwhile this key
      // already leads and others may have seen it lead. Then the next read answers
      // elected. An unanswered withdrawal leaves the outcome unknown, so it is an error.
      const Entry& ahead = queue->front();
      etcd::TxnRequest withdraw;
      withdraw.compare.push_back(
          {key, etcd::Compare::Target::kCreateRevision, etcd::Compare::Result::kEqual, term, ""});
      withdraw.compare.push_back({ahead.kv.key, etcd::Compare::Target::kCreateRevision,
                                  etcd::Compare::Result::kEqual, ahead.kv.create_revision, ""});
      withdraw.success.push_back(etcd::Op::Delete(key));
      auto done = co_await client_.Txn(withdraw);
      if (!done) {
        co_return core::Err(done.error());
      }
      if (done->succeeded) {
        co_return core::Err(NotElected(name));
      }
      withdrawn = true;  // the queue moved: look again, and never rejoin
    }
  }
}

EtcdCoordService::Reply EtcdCoordService::Resign(const std::string& name,
                                                 const std::string& session,
                                                 const std::string& successor) {
  if (core::Status s = coord::ValidateName(name); !s.ok()) {
    co_return core::Err(std::move(s));
  }
  const std::string dir = Key("elections", name) + "/";
  auto queue = co_await LoadQueue(dir);
  if (!queue) {
    co_return core::Err(queue.error());
  }
  if (queue->empty()) {
    co_return core::Err(UnknownElection(name));
  }
  if (queue->front().session != session) {
    co_return core::Err(core::FailedPrecondition(
        "not_leader",
        "Session '" + session + "' does not lead '" + name + "'; only the leader may resign."));
  }
  const Entry leader = queue->front();
  std::string agent;
  if (auto info = co_await LoadSession(session); info) {
    agent = info->agent;
  }
  // The candidates that must step back for the successor to lead.
  std::vector<Entry> ahead;
  if (!successor.empty()) {
    std::size_t found = 0;
    for (std::size_t i = 1; i < queue->size() && found == 0; ++i) {
      const Entry& c = (*queue)[i];
      bool match = c.session == successor;
      if (!match) {
        auto info = co_await LoadSession(c.session);
        match = info && info->agent == successor;
      }
      if (match) {
        found = i;
      }
    }
    if (found == 0) {
      co_return core::Err(core::FailedPrecondition(
          "successor_not_campaigning", "No candidate of '" + name + "' matches '" + successor +
                                           "'; the successor must be campaigning to take over."));
    }
    ahead.assign(queue->begin() + 1, queue->begin() + static_cast<std::ptrdiff_t>(found));
  }
  // One transaction: the leader steps down and the candidates ahead of the successor
  // step out, so the successor is the oldest key. They rejoin at the back right after
  // (their waiting campaign calls would rejoin by themselves too).
  etcd::TxnRequest step_down;
  step_down.compare.push_back({leader.kv.key, etcd::Compare::Target::kCreateRevision,
                               etcd::Compare::Result::kEqual, leader.kv.create_revision, ""});
  step_down.success.push_back(etcd::Op::Delete(leader.kv.key));
  for (const Entry& c : ahead) {
    step_down.compare.push_back({c.kv.key, etcd::Compare::Target::kModRevision,
                                 etcd::Compare::Result::kEqual, c.kv.mod_revision, ""});
    step_down.success.push_back(etcd::Op::Delete(c.kv.key));
  }
  auto done = co_await client_.Txn(step_down);
  if (!done) {
    co_return core::Err(done.error());
  }
  if (!done->succeeded) {
    co_return core::Err(core::Status(core::StatusCode::kAborted, "conflict",
                                     "Election '" + name +
                                         "' changed during the resignation; "
                                         "read it and try again."));
  }
  for (const Entry& c : ahead) {
    etcd::TxnRequest rejoin;
    rejoin.compare.push_back(
        {c.kv.key, etcd::Compare::Target::kCreateRevision, etcd::Compare::Result::kEqual, 0, ""});
    rejoin.success.push_back(etcd::Op::Put(c.kv.key, c.kv.value, c.kv.lease));
    co_await client_.Txn(rejoin);  // a candidate whose lease is gone stays out
  }
  json::object event{
      {"name", name}, {"session", session}, {"agent", agent}, {"term", leader.kv.create_revision}};
  if (!successor.empty()) {
    event["successor"] = successor;
  }
  Emit("election.resigned", std::move(event));
  auto now = co_await ElectionView(name);
  json::object out;
  if (now) {
    out = std::move(*now);
    out.erase("candidates");
  } else {
    out = {{"name", name}, {"leader", nullptr}};
  }
  out["resigned"] = true;
  co_return out;
}

EtcdCoordService::Reply EtcdCoordService::GetElection(const std::string& name) {
  if (core::Status s = coord::ValidateName(name); !s.ok()) {
    co_return core::Err(std::move(s));
  }
  co_return co_await ElectionView(name);
}

EtcdCoordService::Reply EtcdCoordService::Coordinators() {
  const std::string dir = Key("elections", kCoordinatorPrefix);
  const etcd::RangeRequest req = etcd::RangeRequest::Prefix(dir);
  auto r = co_await client_.Range(req);
  if (!r) {
    co_return core::Err(r.error());
  }
  std::set<std::string> names;
  const std::string elections = Key("elections", "");
  for (const etcd::KeyValue& kv : r->kvs) {
    const auto slash = kv.key.rfind('/');
    if (slash != std::string::npos && slash > elections.size()) {
      names.insert(kv.key.substr(elections.size(), slash - elections.size()));
    }
  }
  std::map<std::string, json::object> held;
  for (const std::string& n : names) {
    auto view = co_await ElectionView(n);
    if (view) {
      held.emplace(n, std::move(*view));
    }
  }
  co_return CoordinatorsView(options_.coord.roles, held);
}

}  // namespace agentmesh::server
