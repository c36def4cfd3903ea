// EtcdClient: an asynchronous client for etcd's v3 API through its JSON gateway
// (POST /v3/...; keys and values base64 on the wire, int64 fields as strings).
//
// The coordination backend on etcd (server/etcd_coord_service) is its only user: leases,
// ranges, puts, deletes, transactions and watches, the pieces etcd's own lock and
// election recipes are made of. Calls go over pooled keep-alive HTTP/1.1 connections to
// the first endpoint that answers; a call that fails in transport moves to the next
// endpoint. Keys and values here are raw bytes; the client does the base64.
//
// Errors: kUnavailable reason "etcd_unavailable" (no endpoint reachable, connection
// lost); kDeadlineExceeded reason "etcd_timeout"; kNotFound reason "lease_not_found"
// (lease calls on an unknown or expired lease); kFailedPrecondition reason "compacted"
// (a watch asked for a compacted revision); kInternal reason "etcd_error" for any other
// error answer (its message is etcd's).
// Thread-safety: an EtcdClient may be used from any thread and coroutine at once. An
// EtcdWatch is used by one coroutine at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::etcd {

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

// The end of the range of every key that starts with `prefix` (etcd's "prefix end").
std::string PrefixEnd(std::string_view prefix);

struct RangeRequest {
  std::string key;
  std::string range_end;  // "" = just `key`
  std::int64_t limit = 0;
  enum class Sort { kNone, kCreateAscend, kCreateDescend };
  Sort sort = Sort::kNone;
  std::int64_t max_create_revision = 0;  // 0 = no bound
  bool count_only = false;
  // Every key that starts with `prefix`.
  static RangeRequest Prefix(std::string prefix);
};

struct RangeResult {
  std::int64_t revision = 0;  // the store's revision when the range was read
  std::vector<KeyValue> kvs;
  std::int64_t count = 0;
};

// One comparison of a transaction's guard.
struct Compare {
  enum class Target { kCreateRevision, kModRevision, kVersion, kValue, kLease };
  enum class Result { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  Target target = Target::kCreateRevision;
  Result result = Result::kEqual;
  std::int64_t number = 0;  // for every target but kValue
  std::string value;        // for kValue
  // Non-empty: the comparison must hold for every key in [key, range_end), and holds
  // for an empty range (e.g. version == 0 over a prefix: "no key under it").
  std::string range_end;
};

// One operation of a transaction branch.
struct Op {
  enum class Kind { kRange, kPut, kDelete };
  Kind kind = Kind::kRange;
  std::string key;
  std::string range_end;   // kRange and kDelete
  std::string value;       // kPut
  std::int64_t lease = 0;  // kPut
  static Op Get(std::string key, std::string range_end = {});
  static Op Put(std::string key, std::string value, std::int64_t lease = 0);
  static Op Delete(std::string key, std::string range_end = {});
};

struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<Op> success;
  std::vector<Op> failure;
};

// What one operation of the branch that ran returned.
struct OpResult {
  std::vector<KeyValue> kvs;  // kRange
  std::int64_t deleted = 0;   // kDelete
};

struct TxnResult {
  bool succeeded = false;
  std::int64_t revision = 0;  // the store's revision after the transaction
  std::vector<OpResult> responses;
};

struct Lease {
  std::int64_t id = 0;
  std::int64_t ttl_seconds = 0;          // remaining (keep-alive, time-to-live) or granted
  std::int64_t granted_ttl_seconds = 0;  // time-to-live only
};

struct EtcdClientOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379"
  // Bound on one unary call, connecting included.
  core::Duration request_timeout = std::chrono::seconds(5);
  // Idle keep-alive connections kept per endpoint.
  std::size_t max_idle_connections = 32;
};

// Validates endpoints (http://host:port, at least one). Errors: kInvalidArgument reason
// "invalid_etcd_endpoint".
core::Status Validate(const EtcdClientOptions& options);

class EtcdClient {
 public:
  template <typename T>
  using Call = boost::asio::awaitable<core::Result<T>>;

  EtcdClient(boost::asio::any_io_executor ex, EtcdClientOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // Leases. `id` 0 lets etcd choose. KeepAliveOnce renews once and returns the new
  // remaining TTL; an expired or revoked lease is kNotFound "lease_not_found" there and
  // in TimeToLive. Revoke deletes every key attached to the lease.
  Call<Lease> LeaseGrant(std::int64_t ttl_seconds, std::int64_t id = 0);
  Call<Lease> LeaseKeepAliveOnce(std::int64_t id);
  Call<Lease> LeaseTimeToLive(std::int64_t id);
  Call<std::int64_t> LeaseRevoke(std::int64_t id);  // -> revision

  // Key-value.
  Call<RangeResult> Range(const RangeRequest& request);
  Call<std::int64_t> Put(const std::string& key, const std::string& value,
                         std::int64_t lease = 0);  // -> revision
  Call<std::int64_t> Delete(const std::string& key,
                            const std::string& range_end = {});  // -> deleted
  Call<TxnResult> Txn(const TxnRequest& request);

  // The revision of the store now (a cheap range).
  Call<std::int64_t> CurrentRevision();

  // Calls run their IO on the calling coroutine's executor, and idle connections stay
  // with the execution context they were made on. Closes them all: call when no call is
  // running and before any of those contexts is destroyed.
  void CloseIdle();

  const EtcdClientOptions& options() const { return options_; }

 private:
  friend class EtcdWatch;
  struct Pool;
  EtcdClientOptions options_;
  std::unique_ptr<Pool> pool_;
};

// A change seen by a watch.
struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: key and mod_revision (the deletion's revision)
};

struct WatchBatch {
  std::int64_t revision = 0;  // the store's revision when the batch was sent
  std::vector<WatchEvent> events;
};

// One watch stream (POST /v3/watch) on one connection. Start() opens it for every key in
// [key, range_end) from `start_revision` (0 = from now on) and returns after etcd
// confirmed it; Next() returns the next non-empty batch of events in revision order, or
// an error when the stream broke (kUnavailable: reconnect with a new EtcdWatch from the
// last revision seen + 1; kFailedPrecondition "compacted": that revision is gone, re-read
// the state). Progress notifications are not surfaced. Close() ends a pending Next()
// with kCancelled.
class EtcdWatch {
 public:
  EtcdWatch(boost::asio::any_io_executor ex, const EtcdClient& client);
  ~EtcdWatch();
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;

  boost::asio::awaitable<core::Status> Start(const std::string& key, const std::string& range_end,
                                             std::int64_t start_revision);
  boost::asio::awaitable<core::Result<WatchBatch>> Next();
  void Close();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace agentmesh::etcd
