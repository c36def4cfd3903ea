// EtcdCoordService: construction, start and stop, and sessions as etcd leases (see
// etcd_coord_service.h).
#include "agentmesh/server/etcd_coord_service.h"

#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "agentmesh/client/http_client.h"
#include "agentmesh/coord/sessions.h"
#include "agentmesh/core/duration.h"
#include "agentmesh/core/log.h"

#include "server/etcd_coord_internal.h"

namespace agentmesh::server {

namespace asio = boost::asio;
namespace json = boost::json;

using etcd_coord::LeaseHex;
using etcd_coord::ParseLeaseHex;
using etcd_coord::UnknownSession;

core::Status Validate(const EtcdCoordOptions& options) {
  if (!options.prefix.starts_with('/') || options.prefix.size() < 2 ||
      options.prefix.ends_with('/')) {
    return core::InvalidArgument("invalid_etcd_options",
                                 "the etcd key prefix must start with '/' and not end with one, "
                                 "e.g. /agentmesh; got '" +
                                     options.prefix + "'");
  }
  return etcd::Validate(options.etcd);
}

EtcdCoordService::Watch::~Watch() {
  std::lock_guard lock(shared_->mu);
  auto [begin, end] = shared_->watches.equal_range(name_);
  for (auto it = begin; it != end; ++it) {
    if (it->second == this) {
      shared_->watches.erase(it);
      break;
    }
  }
}

EtcdCoordService::EtcdCoordService(EtcdCoordOptions options, asio::any_io_executor ex,
                                   core::Clock& clock, core::EventSink* events)
    : options_(std::move(options)),
      ex_(std::move(ex)),
      clock_(clock),
      events_(events),
      client_(ex_, options_.etcd),
      shared_(std::make_shared<Shared>()) {}

EtcdCoordService::~EtcdCoordService() { Stop(); }

core::Status EtcdCoordService::Start() {
  // Fail fast when no endpoint answers, before the node says it is serving.
  core::Status last = core::Unavailable("etcd_unavailable", "no etcd endpoint configured");
  for (const std::string& endpoint : options_.etcd.endpoints) {
    auto r =
        client::FetchBlocking(endpoint, client::HttpRequest("POST", "/v3/maintenance/status", "{}"),
                              options_.etcd.request_timeout);
    if (r && r->status == 200) {
      last = core::OkStatus();
      break;
    }
    last = core::Unavailable("etcd_unavailable",
                             "etcd at " + endpoint + " does not answer: " +
                                 (r ? "HTTP " + std::to_string(r->status) : r.error().message()));
  }
  if (!last.ok()) {
    return last;
  }
  {
    std::lock_guard lock(shared_->mu);
    shared_->loops = 2;
  }
  asio::co_spawn(ex_, WatchLoop(), asio::detached);
  asio::co_spawn(ex_, TickLoop(), asio::detached);
  return core::OkStatus();
}

void EtcdCoordService::Stop() {
  std::unique_lock lock(shared_->mu);
  if (shared_->stopped) {
    return;
  }
  shared_->stopped = true;
  auto stream = shared_->stream;
  auto timer = shared_->tick_timer;
  for (auto& [dir, waiter] : shared_->waiters) {
    waiter->woken = true;
    asio::post(waiter->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
  }
  asio::post(ex_, [stream, timer] {
    if (stream) {
      stream->Close();
    }
    if (timer) {
      timer->cancel();
    }
  });
  // The loops use this object; wait (boundedly) until they are gone. When the executor
  // no longer runs, they are destroyed with it and never resume.
  shared_->loops_done.wait_for(lock, std::chrono::seconds(3),
                               [this] { return shared_->loops == 0; });
}

std::string EtcdCoordService::Key(std::string_view kind, std::string_view name) const {
  std::string key = options_.prefix;
  key += '/';
  key += kind;
  key += '/';
  key += name;
  return key;
}

std::string EtcdCoordService::LockKey(std::string_view name, std::string_view session) const {
  return Key("locks", name) + "/" + std::string(session);
}

void EtcdCoordService::Emit(std::string type, json::object data) {
  if (events_ == nullptr) {
    return;
  }
  core::Event e;
  e.type = std::move(type);
  if (const auto* agent = data.if_contains("agent"); agent != nullptr && agent->is_string()) {
    e.agent_id = std::string(agent->as_string());
  }
  e.timestamp = clock_.WallNow();
  e.data = std::move(data);
  events_->Emit(std::move(e));
}

asio::awaitable<core::Result<EtcdCoordService::SessionInfo>> EtcdCoordService::LoadSession(
    const std::string& id) {
  const auto lease = ParseLeaseHex(id);
  if (!lease) {
    co_return core::Err(UnknownSession(id));
  }
  etcd::RangeRequest req;
  req.key = Key("sessions", id);
  auto r = co_await client_.Range(req);
  if (!r) {
    co_return core::Err(r.error());
  }
  if (r->kvs.empty() || r->kvs[0].lease != *lease) {
    co_return core::Err(UnknownSession(id));
  }
  SessionInfo info;
  info.lease = *lease;
  boost::system::error_code ec;
  json::value v = json::parse(r->kvs[0].value, ec);
  if (!ec && v.is_object()) {
    if (const auto* a = v.as_object().if_contains("agent"); a != nullptr && a->is_string()) {
      info.agent = std::string(a->as_string());
    }
    if (const auto* t = v.as_object().if_contains("ttl"); t != nullptr && t->is_string()) {
      info.ttl = std::string(t->as_string());
    }
  }
  Remember(info);
  co_return info;
}

void EtcdCoordService::Remember(const SessionInfo& info) {
  constexpr std::size_t kMaxCached = 65536;
  std::lock_guard lock(shared_->mu);
  if (shared_->sessions.size() >= kMaxCached) {
    shared_->sessions.clear();
  }
  shared_->sessions.insert_or_assign(info.lease, info);
}

void EtcdCoordService::NoteGrant(const std::string& key, etcd::KeyValue kv) {
  constexpr std::size_t kMaxNoted = 65536;
  std::lock_guard lock(shared_->mu);
  if (kv.mod_revision == 0) {
    shared_->grants.erase(key);
    return;
  }
  if (shared_->grants.size() >= kMaxNoted) {
    shared_->grants.clear();
  }
  shared_->grants.insert_or_assign(key, std::move(kv));
}

asio::awaitable<core::Result<EtcdCoordService::SessionInfo>> EtcdCoordService::KnownSession(
    const std::string& id) {
  if (const auto lease = ParseLeaseHex(id)) {
    std::lock_guard lock(shared_->mu);
    if (auto it = shared_->sessions.find(*lease); it != shared_->sessions.end()) {
      co_return it->second;
    }
  }
  co_return co_await LoadSession(id);
}

asio::awaitable<core::Result<std::vector<EtcdCoordService::Entry>>> EtcdCoordService::LoadQueue(
    const std::string& dir) {
  etcd::RangeRequest req = etcd::RangeRequest::Prefix(dir);
  req.sort = etcd::RangeRequest::Sort::kCreateAscend;
  auto r = co_await client_.Range(req);
  if (!r) {
    co_return core::Err(r.error());
  }
  std::vector<Entry> out;
  for (etcd::KeyValue& kv : r->kvs) {
    const std::string_view rest = std::string_view(kv.key).substr(dir.size());
    // Keys of longer names ("a/b" under "a/") and anything not named by a lease are
    // not part of this queue.
    if (!ParseLeaseHex(rest)) {
      continue;
    }
    Entry e;
    e.session = std::string(rest);
    e.kv = std::move(kv);
    out.push_back(std::move(e));
  }
  co_return out;
}

EtcdCoordService::Reply EtcdCoordService::CreateSession(const std::string& agent,
                                                        std::optional<core::Duration> ttl) {
  // The embedded table checks the agent and the TTL, so both backends refuse alike.
  coord::SessionTable table(options_.coord.core.sessions);
  coord::Effects ignored;
  auto checked = table.Create("0", agent, ttl, clock_.Now(), ignored);
  if (!checked) {
    co_return core::Err(checked.error());
  }
  const std::string ttl_text(checked->at("ttl").as_string());
  const auto chosen = core::ParseDuration(ttl_text);
  const std::int64_t seconds =
      std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(*chosen).count());
  const std::int64_t any_id = 0;
  auto lease = co_await client_.LeaseGrant(seconds, any_id);
  if (!lease) {
    co_return core::Err(lease.error());
  }
  const std::string id = LeaseHex(lease->id);
  const std::string key = Key("sessions", id);
  const std::string value = json::serialize(json::object{{"agent", agent}, {"ttl", ttl_text}});
  auto put = co_await client_.Put(key, value, lease->id);
  if (!put) {
    co_await client_.LeaseRevoke(lease->id);
    co_return core::Err(put.error());
  }
  Remember(SessionInfo{lease->id, agent, ttl_text});
  Emit("session.created", {{"session", id}, {"agent", agent}, {"ttl", ttl_text}});
  co_return json::object{{"id", id}, {"agent", agent}, {"ttl", ttl_text}};
}

EtcdCoordService::Reply EtcdCoordService::RenewSession(const std::string& id) {
  auto info = co_await LoadSession(id);
  if (!info) {
    co_return core::Err(info.error());
  }
  auto lease = co_await client_.LeaseKeepAliveOnce(info->lease);
  if (!lease) {
    if (lease.error().code() == core::StatusCode::kNotFound) {
      co_return core::Err(UnknownSession(id));
    }
    co_return core::Err(lease.error());
  }
  co_return json::object{
      {"id", id}, {"ttl", info->ttl}, {"expires_in_ms", lease->ttl_seconds * 1000}};
}

EtcdCoordService::Reply EtcdCoordService::DestroySession(const std::string& id) {
  auto info = co_await LoadSession(id);
  if (!info) {
    co_return core::Err(info.error());
  }
  {
    std::lock_guard lock(shared_->mu);
    shared_->revoked.insert(info->lease);
    shared_->sessions.erase(info->lease);
  }
  // Revoking deletes every key of the lease at once: the session, its locks and its
  // candidacies; waiters on them wake up through the watch.
  auto revoked = co_await client_.LeaseRevoke(info->lease);
  if (!revoked) {
    if (revoked.error().code() == core::StatusCode::kNotFound) {
      co_return core::Err(UnknownSession(id));
    }
    co_return core::Err(revoked.error());
  }
  Emit("session.destroyed", {{"session", id}, {"agent", info->agent}});
  co_return json::object{{"id", id}, {"destroyed", true}};
}

EtcdCoordService::Reply EtcdCoordService::GetSession(const std::string& id) {
  auto info = co_await LoadSession(id);
  if (!info) {
    co_return core::Err(info.error());
  }
  auto lease = co_await client_.LeaseTimeToLive(info->lease);
  if (!lease) {
    if (lease.error().code() == core::StatusCode::kNotFound) {
      co_return core::Err(UnknownSession(id));
    }
    co_return core::Err(lease.error());
  }
  co_return json::object{{"id", id},
                         {"agent", info->agent},
                         {"ttl", info->ttl},
                         {"expires_in_ms", lease->ttl_seconds * 1000}};
}

}  // namespace agentmesh::server
