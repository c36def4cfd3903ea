// The per-connection coroutine: read, route, answer, repeat (see http_server.h).
#include <atomic>
#include <charconv>
#include <cstdint>
#include <exception>
#include <functional>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "agentmesh/core/log.h"
#include "agentmesh/server/errors.h"
#include "agentmesh/server/gateway.h"

#include "http_internal.h"
#include "inq_read.h"
#include "nocancel_io.h"
#include <unistd.h>

namespace agentmesh::server::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

constexpr std::size_t kMaxCorrelationIdLength = 128;
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr std::size_t kMaxLingerBytes = 8 << 20;
constexpr std::size_t kMaxReadSize = 64 * 1024;

}  // namespace

std::string_view NewCorrelationId(char (&buf)[24]) {
  thread_local const std::uint64_t prefix = [] {
    thread_local const int anchor = 0;
    const auto seed =
        reinterpret_cast<std::uintptr_t>(&anchor) ^
        static_cast<std::uintptr_t>(std::hash<std::thread::id>{}(std::this_thread::get_id())) ^
        static_cast<std::uintptr_t>(::getpid());
    return static_cast<std::uint64_t>(seed * 0x9E3779B97F4A7C15ull) >> 32;
  }();
  thread_local std::uint64_t counter = 0;
  constexpr char kHex[] = "0123456789abcdef";
  const std::uint64_t value = (prefix << 32) | (++counter & 0xffffffffu);
  for (int i = 0; i < 16; ++i) {
    buf[i] = kHex[(value >> (60 - 4 * i)) & 0xf];
  }
  return std::string_view(buf, 16);
}

bool UsableCorrelationId(std::string_view id) {
  if (id.empty() || id.size() > kMaxCorrelationIdLength) {
    return false;
  }
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

std::string_view TargetPath(std::string_view target) { return target.substr(0, target.find('?')); }

ApiError ParseFailure(const boost::system::error_code& ec) {
  if (ec == http::error::body_limit) {
    return {core::ResourceExhausted("body_too_large", "The request body is larger than allowed."),
            {}};
  }
  if (ec == http::error::header_limit) {
    return {core::InvalidArgument("headers_too_large",
                                  "The request line and headers are larger than allowed."),
            {}};
  }
  if (ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension) {
    return {core::InvalidArgument("bad_chunked_encoding", "The chunked body is malformed."), {}};
  }
  if (ec == http::error::bad_method || ec == http::error::bad_target ||
      ec == http::error::bad_version) {
    return {core::InvalidArgument("malformed_request_line", "The HTTP request line is malformed."),
            {}};
  }
  return {core::InvalidArgument("malformed_request",
                                "The HTTP request is malformed: " + ec.message() + "."),
          {}};
}

// Whether `ec` from a read means the peer went away or we closed it, not bad input.
bool IsDisconnect(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::operation_aborted || ec == beast::error::timeout ||
         ec == asio::error::connection_reset || ec == asio::error::bad_descriptor ||
         ec == http::error::partial_message || ec == asio::error::broken_pipe;
}

void AppendNumber(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  out.append(buf, end);
}

void SerializeHead(const Response& r, std::string_view correlation_id, bool keep_alive, bool http10,
                   std::string& out) {
  out.clear();
  out += http10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  AppendNumber(out, static_cast<std::size_t>(r.status));
  out += ' ';
  out += http::obsolete_reason(static_cast<http::status>(r.status));
  out += "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: ";
  AppendNumber(out, r.body.size());
  out += "\r\nX-Correlation-ID: ";
  out += correlation_id;
  if (!r.allow.empty()) {
    out += "\r\nAllow: ";
    out += r.allow;
  }
  if (!keep_alive) {
    out += "\r\nConnection: close";
  } else if (http10) {
    out += "\r\nConnection: keep-alive";
  }
  out += "\r\n\r\n";
}

asio::awaitable<bool> Write(Connection& conn, ServerState& s, std::string_view head,
                            std::string_view body) {
  tcp::socket& socket = conn.stream.socket();
  boost::system::error_code ec;
  const std::size_t n = SendNow(socket.native_handle(), head, body, ec);
  if (ec) {
    co_return false;
  }
  if (n == head.size() + body.size()) {
    co_return true;
  }
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(body)};
  if (n < head.size()) {
    buffers[0] += n;
  } else {
    buffers[0] = {};
    buffers[1] += n - head.size();
  }
  conn.phase = Connection::Phase::kWriting;
  conn.since = s.clock.Now();
  auto [wec, wn] = co_await asio::async_write(socket, buffers, asio::as_tuple(asio::use_awaitable));
  conn.phase = Connection::Phase::kHandling;
  co_return !wec;
}

asio::mutable_buffer ReadSpace(beast::flat_buffer& buffer) {
  return buffer.prepare(beast::read_size(buffer, kMaxReadSize));
}

asio::awaitable<void> LingeringClose(beast::tcp_stream& stream) {
  boost::system::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream.expires_after(kLingerTimeout);
  std::array<char, 16 * 1024> scratch;
  std::size_t total = 0;
  while (!ec && total < kMaxLingerBytes) {
    auto [read_ec, n] =
        co_await stream.async_read_some(asio::buffer(scratch), asio::as_tuple(asio::use_awaitable));
    ec = read_ec;
    total += n;
  }
}

asio::awaitable<boost::system::error_code> SendContinueIfExpected(Connection& conn,
                                                                  const RequestParser& parser) {
  const auto& h = parser.get();
  auto expect = h.find(http::field::expect);
  if (parser.is_done() || expect == h.end() || !beast::iequals(expect->value(), "100-continue")) {
    co_return boost::system::error_code{};
  }
  static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  auto [ec, n] = co_await asio::async_write(conn.stream, asio::buffer(kContinue),
                                            asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

namespace {

bool HeaderDone(const RequestParser& p) { return p.is_header_done(); }
bool MessageDone(const RequestParser& p) { return p.is_done(); }

}  // namespace

asio::awaitable<boost::system::error_code> ReadBody(Connection& conn, beast::flat_buffer& buffer,
                                                    RequestParser& parser) {
  boost::system::error_code ec;
  FeedBuffered(parser, buffer, ec, MessageDone);
  if (!ec && !parser.is_done()) {
    ec = co_await SendContinueIfExpected(conn, parser);
    if (!ec) {
      auto [rec, rn] = co_await http::async_read(conn.stream, buffer, parser,
                                                 asio::as_tuple(asio::use_awaitable));
      ec = rec;
    }
  }
  conn.phase = Connection::Phase::kHandling;
  co_return ec;
}

namespace {

// The ResponseStream of one streaming request on `conn`.
class ConnectionStream final : public ResponseStream {
 public:
  ConnectionStream(Connection& conn, ServerState& s)
      : conn_(conn), s_(s), timer_(conn.stream.get_executor()) {}

  asio::awaitable<bool> Send(std::string_view data) override {
    co_return co_await Write(conn_, s_, data, {});
  }

  asio::awaitable<bool> Wait(core::Duration timeout) override {
    // In slices, so that a stopping server is noticed within one.
    constexpr core::Duration kSlice = std::chrono::milliseconds(500);
    const core::TimePoint deadline = s_.clock.Now() + timeout;
    while (!woken_.exchange(false)) {
      if (s_.stopping.load(std::memory_order_relaxed)) {
        co_return false;
      }
      const core::TimePoint now = s_.clock.Now();
      if (now >= deadline) {
        break;
      }
      timer_.expires_after(std::min(kSlice, deadline - now));
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return !s_.stopping.load(std::memory_order_relaxed);
  }

  void Wake() override {
    woken_.store(true);
    asio::post(timer_.get_executor(), [this] { timer_.cancel(); });
  }

 private:
  Connection& conn_;
  ServerState& s_;
  asio::steady_timer timer_;
  std::atomic<bool> woken_{false};
};

// Serves a streaming endpoint: a 200 event-stream head, then the handler; the
// connection closes after it.
asio::awaitable<void> Stream(ServerState& s, Connection& conn, const Endpoint& e,
                             const Request& req) {
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Connection: close\r\nX-Correlation-ID: ";
  head += req.correlation_id;
  head += "\r\n\r\n";
  if (!co_await Write(conn, s, head, {})) {
    co_return;
  }
  ConnectionStream stream(conn, s);
  try {
    co_await e.stream(req, stream);
  } catch (const std::exception& ex) {
    core::log::Error("stream handler failed", {{"route", e.pattern}, {"error", ex.what()}});
  }
  // A Wake() posted from another thread may still refer to the stream: let it run first.
  co_await asio::post(conn.stream.get_executor(), asio::use_awaitable);
}

asio::awaitable<Response> Handle(ServerState& s, const RouteMatch& match, const Request& req) {
  if (match.endpoint < 0) {
    co_return ErrorResponse(ApiError{match.error, {}}, match.allow);
  }
  const Endpoint& e = s.router.endpoints()[match.endpoint];
  try {
    if (e.sync) {
      co_return e.sync(req);
    }
    co_return co_await e.async(req);
  } catch (const std::exception& ex) {
    core::log::Error("handler failed", {{"route", e.pattern}, {"error", ex.what()}});
  }
  co_return ErrorResponse(core::Internal("internal", "The server failed to handle the request."));
}

}  // namespace

asio::awaitable<void> ServeConnection(std::shared_ptr<ServerState> state,
                                      std::shared_ptr<Connection> conn) {
  ServerState& s = *state;
  beast::tcp_stream& stream = conn->stream;
  // Listed for the sweep that enforces this connection's deadlines while it lives.
  struct Listing {
    Connection& conn;
    explicit Listing(Connection& c) : conn(c) { conn.worker.live.insert(&conn); }
    ~Listing() { conn.worker.live.erase(&conn); }
  } listing(*conn);
  beast::flat_buffer buffer;
  std::string head;
  head.reserve(256);
  char generated_id[24];
  boost::system::error_code nb_ec;
  stream.socket().non_blocking(true, nb_ec);
  core::TimePoint idle_since = s.clock.Now();
  while (!nb_ec && !s.stopping.load(std::memory_order_relaxed)) {
    RequestParser parser;
    parser.body_limit(s.options.max_body_bytes);
    parser.header_limit(static_cast<std::uint32_t>(s.options.max_header_bytes));
    conn->phase = Connection::Phase::kIdle;
    conn->since = idle_since;
    // The header: one speculative read of what arrived (Beast's reads only for a header
    // split across segments). Inline rather than a helper coroutine: no frame per request.
    boost::system::error_code ec;
    if (buffer.size() == 0) {
      auto [rec, n] = co_await stream.socket().async_read_some(InqBuffer{ReadSpace(buffer)},
                                                               asio::as_tuple(asio::deferred));
      buffer.commit(n);
      ec = rec;
    }
    FeedBuffered(parser, buffer, ec, HeaderDone);
    if (!ec && !parser.is_header_done()) {
      auto [rec, n] = co_await http::async_read_header(stream, buffer, parser,
                                                       asio::as_tuple(asio::use_awaitable));
      ec = rec;
    }
    conn->phase = Connection::Phase::kReading;
    if (!ec && s.gateway != nullptr && Gateway::Serves(TargetPath(parser.get().target()))) {
      if (!co_await ServeGatewayRequest(*s.gateway, s, *conn, buffer, parser)) {
        break;
      }
      idle_since = conn->call_ended;
      continue;
    }
    if (!ec) {
      ec = co_await ReadBody(*conn, buffer, parser);
    }
    const core::TimePoint start = s.clock.Now();
    if (ec) {
      if (IsDisconnect(ec)) {
        break;
      }
      const Response r = ErrorResponse(ParseFailure(ec));
      SerializeHead(r, NewCorrelationId(generated_id), false, false, head);
      co_await Write(*conn, s, head, r.body);
      s.Stats(-1, Method::kOther).Record(r.status, core::ToSeconds(s.clock.Now() - start));
      co_await LingeringClose(stream);
      break;
    }

    const auto& msg = parser.get();
    Request req;
    req.method = ParseMethod(msg.method_string());
    const std::string_view target = msg.target();
    const std::size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    req.content_type = msg[http::field::content_type];
    const std::string_view given_id = msg["X-Correlation-ID"];
    req.correlation_id = UsableCorrelationId(given_id) ? given_id : NewCorrelationId(generated_id);
    req.body = msg.body();
    req.agent_id = msg["X-Agent-ID"];

    const RouteMatch match = s.router.Match(req.method, req.path, &req);
    if (match.endpoint >= 0 && s.router.endpoints()[match.endpoint].stream) {
      co_await Stream(s, *conn, s.router.endpoints()[match.endpoint], req);
      s.Stats(match.endpoint, req.method).Record(200, core::ToSeconds(s.clock.Now() - start));
      break;
    }
    const Response r = co_await Handle(s, match, req);
    const bool keep_alive = msg.keep_alive() && !s.stopping.load(std::memory_order_relaxed);
    SerializeHead(r, req.correlation_id, keep_alive, msg.version() == 10, head);
    // The idle period starts before the response leaves: once the client has the
    // response it may rely on the full idle_timeout. A write that does not complete at
    // once is bounded by write_timeout instead.
    idle_since = s.clock.Now();
    s.Stats(match.endpoint, req.method).Record(r.status, core::ToSeconds(idle_since - start));
    const bool written = co_await Write(*conn, s, head, r.body);
    if (!written || !keep_alive) {
      break;
    }
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

void CloseConnection(Connection& conn) {
  conn.stream.cancel();
  boost::system::error_code ignored;
  conn.stream.socket().close(ignored);
}

}  // namespace agentmesh::server::internal
