// HTTP/1.1 client primitives shared by the agent SDK, the node's health checker and
// the CLI commands.
//
// HttpConnection keeps one keep-alive connection to host:port and reconnects when the
// peer closed it. FetchOnce does one request on a fresh connection; FetchBlocking runs
// its own io_context for callers outside Asio. Owned by the client module.
// Thread-safety: an HttpConnection is used from one coroutine/strand at a time; the
// free functions are thread-safe.
//
// Errors (every call): kUnavailable reason "connect_failed" (resolve or connect
// failed), "connection_closed" (the peer closed or reset the connection mid-request),
// "bad_response" (not parseable HTTP); kDeadlineExceeded reason "timeout";
// kInvalidArgument reason "invalid_url".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::client {

// Constructors (not an aggregate) on purpose: g++ 12 miscompiles aggregate-initialised
// temporaries passed by value to coroutines, e.g. Send({"GET", "/health"}, t).
struct HttpRequest {
  HttpRequest() = default;
  HttpRequest(std::string m, std::string t, std::string b = {})
      : method(std::move(m)), target(std::move(t)), body(std::move(b)) {}

  std::string method = "GET";
  std::string target = "/";  // path + query
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Returns the first header named `name` (case-insensitive), or "".
  std::string_view Header(std::string_view name) const;
};

// One keep-alive HTTP/1.1 connection to host:port; reconnects when the peer closed it.
// Not thread-safe: use from one coroutine/strand at a time.
class HttpConnection {
 public:
  HttpConnection(boost::asio::any_io_executor ex, std::string host, std::string port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends `req` and reads the response within `timeout` (connect included). A request
  // on a reused connection that the peer had already closed is retried once on a new
  // connection. Sets Host, User-Agent, Content-Length and, for a non-empty body
  // without one, Content-Type: application/json.
  boost::asio::awaitable<core::Result<HttpResponse>> Send(HttpRequest req, core::Duration timeout);
  // Closes the connection; a pending Send completes with kUnavailable.
  void Close();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// One request on a fresh connection to "host:port" (health checks).
boost::asio::awaitable<core::Result<HttpResponse>> FetchOnce(boost::asio::any_io_executor ex,
                                                             std::string host_port, HttpRequest req,
                                                             core::Duration timeout);

// Blocking convenience for CLI commands and tests; runs its own io_context.
// `base_url` like "http://127.0.0.1:7700"; a path in it prefixes req.target.
core::Result<HttpResponse> FetchBlocking(std::string_view base_url, HttpRequest req,
                                         core::Duration timeout);

// The parts of a base URL like "http://127.0.0.1:7700/prefix".
struct BaseUrl {
  std::string host;         // without brackets for IPv6
  std::string port;         // "80" when the URL has none
  std::string path_prefix;  // "" or "/prefix" (no trailing slash)
};

// Parses an http:// base URL. Errors: kInvalidArgument reason "invalid_url".
core::Result<BaseUrl> ParseBaseUrl(std::string_view url);

// Splits "host:port" (or "[v6]:port") into host and port.
// Errors: kInvalidArgument reason "invalid_url".
core::Result<std::pair<std::string, std::string>> SplitHostPort(std::string_view host_port);

}  // namespace agentmesh::client
