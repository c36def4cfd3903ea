#include "agentmesh/etcd/etcd_client.h"

#include <utility>

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "agentmesh/client/http_client.h"
#include "agentmesh/core/duration.h"

#include "etcd/etcd_client_internal.h"
#include "etcd/etcd_json_internal.h"

namespace agentmesh::etcd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using internal::Int64Field;

using Answer = asio::awaitable<core::Result<json::object>>;
// Turns an answer into a call's result; `id` is the lease a lease call is about.
template <typename T>
using Decode = core::Result<T> (*)(const json::object& answer, std::int64_t id);

// Awaits `pending` and decodes its answer; owns everything it uses.
template <typename T>
asio::awaitable<core::Result<T>> Finish(Answer pending, Decode<T> decode, std::int64_t id) {
  core::Result<json::object> answer = co_await std::move(pending);
  if (!answer) {
    co_return core::Err(answer.error());
  }
  co_return decode(*answer, id);
}

std::string LeaseIdBody(std::int64_t id) {
  json::object body;
  body["ID"] = std::to_string(id);
  return json::serialize(body);
}

core::Status LeaseNotFound(std::int64_t id) {
  return core::NotFound("lease_not_found",
                        "lease " + std::to_string(id) + " is expired or revoked");
}

core::Result<Lease> DecodeGrant(const json::object& answer, std::int64_t) {
  if (std::string error = internal::StringField(answer, "error"); !error.empty()) {
    return core::Err(core::Internal("etcd_error", std::move(error)));
  }
  Lease out;
  out.id = Int64Field(answer, "ID");
  out.ttl_seconds = Int64Field(answer, "TTL");
  return out;
}

// An expired or revoked lease's keep-alive answer has no (or a zero) TTL.
core::Result<Lease> DecodeKeepAlive(const json::object& answer, std::int64_t id) {
  Lease out;
  out.id = id;
  out.ttl_seconds = Int64Field(answer, "TTL");
  if (out.ttl_seconds <= 0) {
    return core::Err(LeaseNotFound(id));
  }
  return out;
}

// etcd answers TTL -1 for a lease it does not know.
core::Result<Lease> DecodeTimeToLive(const json::object& answer, std::int64_t id) {
  Lease out;
  out.id = id;
  out.ttl_seconds = Int64Field(answer, "TTL");
  out.granted_ttl_seconds = Int64Field(answer, "grantedTTL");
  if (out.ttl_seconds < 0) {
    return core::Err(LeaseNotFound(id));
  }
  return out;
}

core::Result<std::int64_t> DecodeRevision(const json::object& answer, std::int64_t) {
  return internal::HeaderRevision(answer);
}

core::Result<std::int64_t> DecodeDeleted(const json::object& answer, std::int64_t) {
  return Int64Field(answer, "deleted");
}

core::Result<RangeResult> DecodeRange(const json::object& answer, std::int64_t) {
  auto kvs = internal::DecodeKvs(answer);
  if (!kvs) {
    return core::Err(kvs.error());
  }
  RangeResult out;
  out.revision = internal::HeaderRevision(answer);
  out.kvs = std::move(*kvs);
  out.count = Int64Field(answer, "count");
  return out;
}

core::Result<TxnResult> DecodeTxn(const json::object& answer, std::int64_t) {
  TxnResult out;
  out.succeeded = internal::BoolField(answer, "succeeded");
  out.revision = internal::HeaderRevision(answer);
  const json::value* responses = answer.if_contains("responses");
  if (responses == nullptr || !responses->is_array()) {
    return out;
  }
  for (const json::value& item : responses->get_array()) {
    OpResult op;
    if (item.is_object()) {
      auto kvs = internal::DecodeKvs(internal::ObjectField(item.get_object(), "response_range"));
      if (!kvs) {
        return core::Err(kvs.error());
      }
      op.kvs = std::move(*kvs);
      op.deleted =
          Int64Field(internal::ObjectField(item.get_object(), "response_delete_range"), "deleted");
    }
    out.responses.push_back(std::move(op));
  }
  return out;
}

}  // namespace

EtcdClient::Pool::Pool(asio::any_io_executor e, const EtcdClientOptions& options)
    : ex(std::move(e)),
      endpoints(std::make_shared<internal::Endpoints>(options)),
      timeout(options.request_timeout),
      max_idle(options.max_idle_connections) {}

namespace {

const void* ContextOf(const asio::any_io_executor& ex) {
  return &asio::query(ex, asio::execution::context);
}

}  // namespace

std::unique_ptr<client::HttpConnection> EtcdClient::Pool::Take(
    std::size_t i, const asio::any_io_executor& caller) {
  {
    std::lock_guard lock(mu);
    auto& list = idle[{i, ContextOf(caller)}];
    if (!list.empty()) {
      std::unique_ptr<client::HttpConnection> conn = std::move(list.back());
      list.pop_back();
      return conn;
    }
  }
  const internal::Endpoint& endpoint = endpoints->list[i];
  return std::make_unique<client::HttpConnection>(caller, endpoint.host, endpoint.port);
}

void EtcdClient::Pool::Give(std::size_t i, const asio::any_io_executor& caller,
                            std::unique_ptr<client::HttpConnection> conn) {
  std::lock_guard lock(mu);
  auto& list = idle[{i, ContextOf(caller)}];
  if (list.size() < max_idle) {
    list.push_back(std::move(conn));
  }
}

asio::awaitable<core::Result<json::object>> EtcdClient::Pool::Post(const char* path,
                                                                   std::string body) {
  if (!endpoints->invalid.ok()) {
    co_return core::Err(endpoints->invalid);
  }
  const core::TimePoint deadline = core::SystemClock::Instance().Now() + timeout;
  const asio::any_io_executor caller = co_await asio::this_coro::executor;
  const std::size_t n = endpoints->list.size();
  const std::size_t first = endpoints->preferred.load();
  core::Status last = core::DeadlineExceeded(
      "etcd_timeout", std::string(path) + " got no answer within " + core::FormatDuration(timeout));
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (first + k) % n;
    const core::Duration left = deadline - core::SystemClock::Instance().Now();
    if (left <= core::Duration::zero()) {
      co_return core::Err(core::DeadlineExceeded(
          "etcd_timeout", std::string(path) + " got no answer within " +
                              core::FormatDuration(timeout) + "; last error: " + last.message()));
    }
    const std::string& url = endpoints->list[i].url;
    std::unique_ptr<client::HttpConnection> conn = Take(i, caller);
    client::HttpRequest request("POST", path, body);
    auto answer = co_await conn->Send(std::move(request), left);
    if (!answer) {
      const core::Status& error = answer.error();
      if (error.code() == core::StatusCode::kDeadlineExceeded) {
        co_return core::Err(
            core::DeadlineExceeded("etcd_timeout", "etcd at " + url + " did not answer " + path +
                                                       " within " + core::FormatDuration(timeout)));
      }
      if (error.code() != core::StatusCode::kUnavailable) {
        co_return core::Err(core::Internal("etcd_error", error.message()));
      }
      last = core::Unavailable("etcd_unavailable", "etcd at " + url + ": " + error.message());
      continue;
    }
    auto parsed = internal::ParseAnswer(answer->status, answer->body);
    Give(i, caller, std::move(conn));
    if (!parsed && parsed.error().code() == core::StatusCode::kUnavailable) {
      // The member answered but cannot serve (no leader): another member may.
      last = parsed.error();
      continue;
    }
    endpoints->preferred.store(i);
    co_return parsed;
  }
  co_return core::Err(std::move(last));
}

EtcdClient::EtcdClient(asio::any_io_executor ex, EtcdClientOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>(std::move(ex), options_)) {}

EtcdClient::~EtcdClient() = default;

void EtcdClient::CloseIdle() {
  std::lock_guard lock(pool_->mu);
  pool_->idle.clear();
}

// Every public call encodes its request before it returns the awaitable, and the
// awaitable owns everything it uses: a caller may pass temporaries and start the call
// later (a default argument, a lambda returning the call).
EtcdClient::Call<Lease> EtcdClient::LeaseGrant(std::int64_t ttl_seconds, std::int64_t id) {
  json::object body;
  body["TTL"] = std::to_string(ttl_seconds);
  if (id != 0) {
    body["ID"] = std::to_string(id);
  }
  std::string text = json::serialize(body);
  return Finish<Lease>(pool_->Post("/v3/lease/grant", std::move(text)), DecodeGrant, id);
}

EtcdClient::Call<Lease> EtcdClient::LeaseKeepAliveOnce(std::int64_t id) {
  std::string text = LeaseIdBody(id);
  return Finish<Lease>(pool_->Post("/v3/lease/keepalive", std::move(text)), DecodeKeepAlive, id);
}

EtcdClient::Call<Lease> EtcdClient::LeaseTimeToLive(std::int64_t id) {
  std::string text = LeaseIdBody(id);
  return Finish<Lease>(pool_->Post("/v3/lease/timetolive", std::move(text)), DecodeTimeToLive, id);
}

EtcdClient::Call<std::int64_t> EtcdClient::LeaseRevoke(std::int64_t id) {
  std::string text = LeaseIdBody(id);
  return Finish<std::int64_t>(pool_->Post("/v3/lease/revoke", std::move(text)), DecodeRevision, id);
}

EtcdClient::Call<RangeResult> EtcdClient::Range(const RangeRequest& request) {
  std::string text = json::serialize(internal::EncodeRange(request));
  return Finish<RangeResult>(pool_->Post("/v3/kv/range", std::move(text)), DecodeRange, 0);
}

EtcdClient::Call<std::int64_t> EtcdClient::Put(const std::string& key, const std::string& value,
                                               std::int64_t lease) {
  json::object body;
  body["key"] = internal::Base64Encode(key);
  body["value"] = internal::Base64Encode(value);
  if (lease != 0) {
    body["lease"] = std::to_string(lease);
  }
  std::string text = json::serialize(body);
  return Finish<std::int64_t>(pool_->Post("/v3/kv/put", std::move(text)), DecodeRevision, 0);
}

EtcdClient::Call<std::int64_t> EtcdClient::Delete(const std::string& key,
                                                  const std::string& range_end) {
  json::object body;
  body["key"] = internal::Base64Encode(key);
  if (!range_end.empty()) {
    body["range_end"] = internal::Base64Encode(range_end);
  }
  std::string text = json::serialize(body);
  return Finish<std::int64_t>(pool_->Post("/v3/kv/deleterange", std::move(text)), DecodeDeleted, 0);
}

EtcdClient::Call<TxnResult> EtcdClient::Txn(const TxnRequest& request) {
  std::string text = json::serialize(internal::EncodeTxn(request));
  return Finish<TxnResult>(pool_->Post("/v3/kv/txn", std::move(text)), DecodeTxn, 0);
}

EtcdClient::Call<std::int64_t> EtcdClient::CurrentRevision() {
  // A count of one key that is never written: etcd answers with its header only.
  json::object body;
  body["key"] = internal::Base64Encode(std::string(1, '\0'));
  body["count_only"] = true;
  std::string text = json::serialize(body);
  return Finish<std::int64_t>(pool_->Post("/v3/kv/range", std::move(text)), DecodeRevision, 0);
}

}  // namespace agentmesh::etcd
