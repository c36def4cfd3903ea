// Internal state shared by the listener (http_server.cc) and the per-connection
// coroutine (http_connection.cc). Not a public API.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/thread_cache.h"
#include "agentmesh/observe/metrics.h"
#include "agentmesh/server/errors.h"
#include "agentmesh/server/http_server.h"
#include "agentmesh/server/router.h"

namespace agentmesh::server::internal {

// Parsers of the server's requests and the gateway's upstream responses. Their header
// fields (about ten small blocks per proxied call) come from the thread's block cache.
using HeaderAllocator = core::ThreadCacheAllocator<char>;
using RequestParser =
    boost::beast::http::request_parser<boost::beast::http::string_body, HeaderAllocator>;

struct GatewayState;

// Request counters and the latency histogram of one (route, method), with the
// per-status counters resolved once and cached.
class EndpointStats {
 public:
  EndpointStats(observe::Family<observe::Counter>& requests, observe::Histogram& duration,
                std::string route, std::string method);
  // Counts one request answered with `status` that took `seconds`.
  void Record(int status, double seconds);

 private:
  static constexpr int kMaxStatus = 600;
  observe::Family<observe::Counter>& requests_;
  observe::Histogram& duration_;
  std::string route_;
  std::string method_;
  std::array<std::atomic<observe::Counter*>, kMaxStatus> by_status_{};
};

struct Worker;
struct CallContext;  // the gateway's per-call state (gateway_relay.h)
struct CallContextDeleter {
  void operator()(CallContext* call) const;
};

// One accepted connection. Everything but `worker` is touched only on the connection's
// thread. Its deadlines are enforced by the worker's sweep (see SweepConnections), not
// by per-request timers: `phase` says which timeout applies, counted from `since`.
struct Connection {
  enum class Phase {
    kIdle,      // waiting for (the rest of) a request header: idle_timeout
    kReading,   // header parsed, reading the body: idle_timeout from the same `since`
    kHandling,  // in the handler or a lingering close: no sweep deadline
    kWriting,   // writing a response asynchronously: write_timeout
  };
  Connection(boost::asio::ip::tcp::socket socket, Worker& w)
      : stream(std::move(socket)), worker(w) {}
  boost::beast::tcp_stream stream;
  Worker& worker;
  Phase phase = Phase::kHandling;
  core::TimePoint since{};
  // When the gateway's last call on this connection ended (its response handed to the
  // socket): the start of the next idle period, read from the clock once per call.
  core::TimePoint call_ended{};
  std::string peer;  // the client's address, looked up once when first needed
  // The gateway's call state, kept between requests so that a call allocates none.
  std::unique_ptr<CallContext, CallContextDeleter> gateway_call;
};

// One connection thread: its io_context, the connections it serves and the timer that
// closes those past their deadline. `live` and `sweep` are touched only on that thread.
// So are its sockets, from their opening (the accept loop hands over a descriptor) to
// their closing; other threads post to the io_context. That lets the io_context skip
// the lock Asio otherwise takes around each socket operation (UNSAFE_IO); its scheduler
// and timers stay locked.
struct Worker {
  std::unordered_set<Connection*> live;  // declared first: outlives the io_context's frames
  boost::asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  boost::asio::steady_timer sweep{ioc};
};

struct ServerState {
  ServerState(HttpServerOptions options, boost::asio::io_context& ioc, const Router& router,
              core::Clock& clock, observe::Registry& metrics);

  // Returns the stats of `endpoint` (>= 0), or of unmatched requests with `method`.
  EndpointStats& Stats(int endpoint, Method method);

  HttpServerOptions options;
  boost::asio::io_context& ioc;
  const Router& router;
  core::Clock& clock;
  std::vector<std::unique_ptr<EndpointStats>> stats;  // endpoints, then unmatched per method
  boost::asio::ip::tcp::acceptor acceptor;
  std::string host;
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};
  GatewayState* gateway = nullptr;  // set before Start(); serves Gateway::Serves paths

  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<Worker>> workers;  // one per connection thread
  std::vector<WorkGuard> work;
  std::vector<std::thread> threads;
  std::size_t next_worker = 0;  // used by the accept loop only

  std::mutex mu;
  std::condition_variable idle_cv;                              // signalled when a connection ends
  std::unordered_set<std::shared_ptr<Connection>> connections;  // guarded by mu
};

// Closes the connections of `w` that are past their deadline and re-arms the sweep
// timer; runs on the worker's thread until its io_context stops.
void SweepConnections(ServerState& s, Worker& w);

// Closes `conn`'s socket, so that its pending operation ends; on the connection's thread.
void CloseConnection(Connection& conn);

// Returns a fresh correlation id in `buf`: 8 hex digits unique to the thread, then a counter.
std::string_view NewCorrelationId(char (&buf)[24]);
// Whether a client's X-Correlation-ID is usable (1..128 visible ASCII characters).
bool UsableCorrelationId(std::string_view id);
// The path part of a request target.
std::string_view TargetPath(std::string_view target);
// The API error for a request that failed to parse with `ec`.
ApiError ParseFailure(const boost::system::error_code& ec);
// Whether `ec` from a read means the peer went away or we closed it, not bad input.
bool IsDisconnect(const boost::system::error_code& ec);
void AppendNumber(std::string& out, std::size_t n);
// Writes the status line and headers of `r` into `out` (the body is sent separately).
void SerializeHead(const Response& r, std::string_view correlation_id, bool keep_alive, bool http10,
                   std::string& out);
// Writes `head` and `body`: straight away (the socket is non-blocking), then
// asynchronously for whatever the kernel did not take, under the write deadline.
boost::asio::awaitable<bool> Write(Connection& conn, ServerState& s, std::string_view head,
                                   std::string_view body);
// Room for the next read into `buffer`. Reads on the hot paths are issued inline as
// `co_await socket.async_read_some(InqBuffer{ReadSpace(buffer)}, as_tuple(deferred))`
// followed by `buffer.commit(n)`: no coroutine frame is allocated per read (neither a
// helper's nor the one use_awaitable makes to initiate each operation), and Asio tries
// the read at once only when the socket may hold something (inq_read.h).
boost::asio::mutable_buffer ReadSpace(boost::beast::flat_buffer& buffer);
// Feeds what `buffer` holds to a (not eager) Beast `parser` until `until(parser)`, an
// error, or the parser needs more bytes; consumes what it parsed.
template <typename Parser, typename Until>
void FeedBuffered(Parser& parser, boost::beast::flat_buffer& buffer, boost::system::error_code& ec,
                  Until until) {
  while (!ec && !until(parser) && buffer.size() > 0) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == boost::beast::http::error::need_more || (!ec && used == 0)) {
      ec = {};
      break;
    }
  }
}
// Half-closes and discards what the peer still sends, so that it reads our error
// response instead of a reset caused by unread data.
boost::asio::awaitable<void> LingeringClose(boost::beast::tcp_stream& stream);
// Answers "100 Continue" when the request expects it and its body is still to come.
boost::asio::awaitable<boost::system::error_code> SendContinueIfExpected(
    Connection& conn, const RequestParser& parser);

// Reads the rest of a request whose header `parser` holds (usually already in `buffer`),
// answering 100 Continue when expected. Sets `conn.phase` to kHandling when done.
boost::asio::awaitable<boost::system::error_code> ReadBody(Connection& conn,
                                                           boost::beast::flat_buffer& buffer,
                                                           RequestParser& parser);

// Serves one gateway request whose header `parser` holds; the body may still be unread
// (in `buffer` and the socket). Returns whether the connection may serve another.
boost::asio::awaitable<bool> ServeGatewayRequest(GatewayState& gateway, ServerState& s,
                                                 Connection& conn,
                                                 boost::beast::flat_buffer& buffer,
                                                 RequestParser& parser);

// Serves `conn` until it closes; runs on the connection's io_context thread.
boost::asio::awaitable<void> ServeConnection(std::shared_ptr<ServerState> state,
                                             std::shared_ptr<Connection> conn);

}  // namespace agentmesh::server::internal
