// The parts of EtcdClient that EtcdWatch shares: the parsed endpoints with the index
// of the one that answered last, and the connection pool of unary calls.
// Internal to the etcd module.
// Thread-safety: Endpoints is immutable after construction but for the atomic
// `preferred`; Pool's free lists are guarded by its mutex.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "agentmesh/client/http_client.h"
#include "agentmesh/core/status.h"
#include "agentmesh/etcd/etcd_client.h"

namespace agentmesh::etcd {
namespace internal {

struct Endpoint {
  std::string url;  // as configured, for messages
  std::string host;
  std::string port;
};

struct Endpoints {
  // Parses options.endpoints; `invalid` is not ok when they fail Validate().
  explicit Endpoints(const EtcdClientOptions& options);

  std::vector<Endpoint> list;
  core::Status invalid;
  std::atomic<std::size_t> preferred{0};  // index of the endpoint that answered last
};

}  // namespace internal

// Idle keep-alive connections per endpoint, and the failover loop every unary call
// goes through. A call takes a connection (or makes one), so concurrent calls never
// share one; it gives it back only after a complete answer.
struct EtcdClient::Pool {
  Pool(boost::asio::any_io_executor e, const EtcdClientOptions& options);

  // Returns an idle connection to endpoint `i` that lives on `caller`'s execution
  // context, or a new one there: a call's IO stays on the thread that made it.
  std::unique_ptr<client::HttpConnection> Take(std::size_t i,
                                               const boost::asio::any_io_executor& caller);
  // Keeps `conn` for reuse unless max_idle connections to `i` are idle there already.
  void Give(std::size_t i, const boost::asio::any_io_executor& caller,
            std::unique_ptr<client::HttpConnection> conn);
  // POSTs `body` (JSON) to `path` (a string literal), starting at the endpoint that
  // answered last and moving on when one is unreachable, all within one
  // request_timeout; returns the answer's message.
  boost::asio::awaitable<core::Result<boost::json::object>> Post(const char* path,
                                                                 std::string body);

  boost::asio::any_io_executor ex;
  std::shared_ptr<internal::Endpoints> endpoints;
  std::mutex mu;
  // Idle connections by endpoint and by the execution context they live on.
  std::map<std::pair<std::size_t, const void*>,
           std::vector<std::unique_ptr<client::HttpConnection>>>
      idle;
  core::Duration timeout;
  std::size_t max_idle;
};

}  // namespace agentmesh::etcd
