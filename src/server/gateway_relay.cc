// The gateway's wire work (see gateway_relay.h).
#include "server/gateway_relay.h"

#include <array>
#include <charconv>
#include <limits>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include "agentmesh/core/duration.h"
#include "agentmesh/core/log.h"

#include "server/head_writer.h"
#include "server/inq_read.h"
#include "server/nocancel_io.h"

namespace agentmesh::server::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::string_view_literals;

constexpr std::uint32_t kMaxUpstreamHeader = 64 * 1024;
constexpr std::size_t kRelayChunk = 16 * 1024;
// Room reserved for a response's relayed fields: one allocation for a typical header.
constexpr std::size_t kRelayedFieldsCapacity = 256;
// The span error code of a call whose upstream broke off after its header.
constexpr std::string_view kFailedMidBody = "upstream_failed_mid_body";

// Whether the field `name` is named by a Connection header's option list (also hop-by-hop).
bool NamedByConnection(std::string_view name, std::string_view connection) {
  if (connection.empty()) {
    return false;
  }
  for (const auto& token : http::token_list(connection)) {
    if (beast::iequals(token, name)) {
      return true;
    }
  }
  return false;
}

// Appends the request fields to forward: those RoleOf calls kRelay and no Connection field
// of the request names (responses follow the same rules).
template <typename Fields>
void AppendHeaders(const Fields& fields, HeadWriter& out) {
  const auto connections = fields.equal_range(http::field::connection);
  for (const auto& f : fields) {
    if (RoleOf(f.name_string()) != FieldRole::kRelay) {
      continue;
    }
    bool named = false;
    for (auto c = connections.first; c != connections.second && !named; ++c) {
      named = NamedByConnection(f.name_string(), c->value());
    }
    if (!named) {
      AppendField(out, f.name_string(), f.value());
    }
  }
}

void AppendHex(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n, 16);
  out.append(buf, end);
}

template <std::size_t N>
void AppendHexId(HeadWriter& out, const observe::TraceBytes<N>& id) {
  id.WriteHex(out.Claim(observe::TraceBytes<N>::kHexSize));
}

// A head is built in this thread's head storage, and valid until the next co_await (copy
// what must outlive one). The storage stays, so building a head allocates nothing.
std::string& HeadStorage() {
  thread_local std::string storage;
  return storage;
}

std::string_view RequestHead(const CallContext& call, const RequestParser& parser,
                             const UpstreamTarget& target, core::TimePoint now) {
  HeadWriter head(HeadStorage());
  head.Put(call.method);
  head.Put(' ');
  head.Put(call.upstream_target);
  head.Put(" HTTP/1.1\r\nHost: "sv);
  head.Put(target.host);
  head.Put(':');
  head.Put(target.port);
  head.Put("\r\n"sv);
  AppendHeaders(parser.get(), head);
  head.Put("X-Correlation-ID: "sv);
  head.Put(std::string_view(call.correlation_id.data(), call.correlation_id.size()));
  head.Put("\r\ntraceparent: 00-"sv);
  AppendHexId(head, call.trace_id);
  head.Put('-');
  AppendHexId(head, call.span_id);
  head.Put(call.head_sampled ? "-01"sv : "-00"sv);
  if (!call.tracestate.empty()) {
    head.Put("\r\ntracestate: "sv);
    head.Put(call.tracestate);
  }
  head.Put("\r\n"sv);
  head.Put(resilience::kDeadlineHeader);
  head.Put(": "sv);
  head.PutNumber(resilience::DeadlineHeaderMs(call.deadline - now));
  head.Put("\r\n"sv);
  head.Put(resilience::kCallDepthHeader);
  head.Put(": "sv);
  head.PutNumber(static_cast<std::uint64_t>(call.budget.depth));
  head.Put("\r\n"sv);
  if (parser.chunked()) {
    head.Put("Transfer-Encoding: chunked\r\n"sv);
  } else if (auto length = parser.content_length()) {
    head.Put("Content-Length: "sv);
    head.PutNumber(*length);
    head.Put("\r\n"sv);
  }
  head.Put("\r\n"sv);
  return head.view();
}

// Whether a response to `method` with `status` carries no body whatever its headers say.
bool Bodiless(std::string_view method, int status) {
  return method == "HEAD" || status == 204 || status == 304 || (status >= 100 && status < 200);
}

std::string_view ResponseHead(const CallContext& call, const UpstreamResponse& p, bool chunked,
                              std::optional<std::uint64_t> length, bool keep_alive) {
  HeadWriter head(HeadStorage());
  head.Put(call.http10 ? "HTTP/1.0 "sv : "HTTP/1.1 "sv);
  head.PutNumber(static_cast<std::uint64_t>(p.status()));
  head.Put(' ');
  const std::string_view reason = p.reason();
  head.Put(reason.empty() ? std::string_view(http::obsolete_reason(
                                http::int_to_status(static_cast<unsigned>(p.status()))))
                          : reason);
  head.Put("\r\n"sv);
  head.Put(p.relayed_fields());
  head.Put("X-Correlation-ID: "sv);
  head.Put(std::string_view(call.correlation_id.data(), call.correlation_id.size()));
  head.Put("\r\n"sv);
  if (chunked) {
    head.Put("Transfer-Encoding: chunked\r\n"sv);
  } else if (length) {
    head.Put("Content-Length: "sv);
    head.PutNumber(*length);
    head.Put("\r\n"sv);
  }
  if (!keep_alive) {
    head.Put("Connection: close\r\n"sv);
  } else if (call.http10) {
    head.Put("Connection: keep-alive\r\n"sv);
  }
  head.Put("\r\n"sv);
  return head.view();
}

// Feeds `up.buffer` to `p` and reads more until `until`. Callers that expect the buffer
// to suffice try UpstreamResponse::Parse first, which needs no coroutine frame; Exchange,
// which always reads, runs this loop inline.
asio::awaitable<boost::system::error_code> ReadUpstream(UpstreamConnection& up, UpstreamResponse& p,
                                                        UpstreamResponse::Until until) {
  boost::system::error_code ec;
  while (!p.Parse(up, until, ec)) {
    auto [rec, n] = co_await up.socket.async_read_some(InqBuffer{ReadSpace(up.buffer)},
                                                       asio::as_tuple(asio::use_awaitable));
    ec = p.Received(up, until, rec, n);
  }
  co_return ec;
}

// Writes `head` and `body` to `socket` as far as the kernel takes them now. Returns false on
// an error; `written` says how much went out.
bool WriteNow(asio::ip::tcp::socket& socket, std::string_view head, std::string_view body,
              std::size_t& written) {
  boost::system::error_code ec;
  written = SendNow(socket.native_handle(), head, body, ec);
  return !ec;
}

// What is left of `head` + `body` after `written` bytes.
std::pair<std::string_view, std::string_view> Rest(std::string_view head, std::string_view body,
                                                   std::size_t written) {
  if (written < head.size()) {
    return {head.substr(written), body};
  }
  return {std::string_view(), body.substr(written - head.size())};
}

asio::awaitable<boost::system::error_code> WriteUpstream(UpstreamConnection& up,
                                                         std::string_view head,
                                                         std::string_view body) {
  boost::system::error_code ec;
  const std::size_t n = SendNow(up.socket.native_handle(), head, body, ec);
  if (ec) {
    co_return ec;
  }
  if (n == head.size() + body.size()) {
    co_return boost::system::error_code{};
  }
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(body)};
  if (n < head.size()) {
    buffers[0] += n;
  } else {
    buffers[0] = {};
    buffers[1] += n - head.size();
  }
  auto [wec, wn] =
      co_await asio::async_write(up.socket, buffers, asio::as_tuple(asio::use_awaitable));
  co_return wec;
}

// Where a relayed body broke off.
enum class RelayEnd { kDone, kSourceFailed, kSinkFailed };

// Moves the rest of a message body, whose header `parser` holds, from `source` to
// `write(frame, data)` piece by piece, re-chunking when `chunked`: each piece's frame is
// the previous piece's CRLF and the next chunk size, so one write carries both.
template <bool kIsRequest, typename Stream, typename WritePiece>
asio::awaitable<RelayEnd> RelayBody(
    http::parser<kIsRequest, http::string_body, HeaderAllocator>& parser, Stream& source,
    beast::flat_buffer& buffer, std::uint64_t limit, bool chunked, WritePiece write) {
  http::parser<kIsRequest, http::buffer_body, HeaderAllocator> body(std::move(parser));
  body.body_limit(limit);
  std::array<char, kRelayChunk> chunk;
  std::string frame;
  bool first = true;
  while (!body.is_done()) {
    body.get().body().data = chunk.data();
    body.get().body().size = chunk.size();
    auto [ec, n] =
        co_await http::async_read(source, buffer, body, asio::as_tuple(asio::use_awaitable));
    if (ec && ec != http::error::need_buffer) {
      co_return RelayEnd::kSourceFailed;
    }
    const std::size_t piece = chunk.size() - body.get().body().size;
    if (piece == 0) {
      continue;
    }
    frame.clear();
    if (chunked) {
      frame += first ? "" : "\r\n";
      AppendHex(frame, piece);
      frame += "\r\n";
    }
    first = false;
    if (!co_await write(frame, std::string_view(chunk.data(), piece))) {
      co_return RelayEnd::kSinkFailed;
    }
  }
  if (chunked && !co_await write(first ? "0\r\n\r\n" : "\r\n0\r\n\r\n", {})) {
    co_return RelayEnd::kSinkFailed;
  }
  co_return RelayEnd::kDone;
}

// The most attributes FinishCall gives a span.
constexpr std::size_t kSpanAttributes = 12;

// Accounts for a call that ended at `end` (its response handed to the socket): metrics,
// when kept the span, and the start of the connection's idle period.
void FinishCall(GatewayState& g, Connection& conn, const CallContext& call, int status,
                std::string_view error_code, AgentRoute* route, core::TimePoint end) {
  conn.call_ended = end;
  const core::Duration took = end - call.start;
  g.metrics.duration.Observe(core::ToSeconds(took));
  (route != nullptr ? route->Requests(g.metrics.requests, status)
                    : g.metrics.Requests(std::string(), status))
      .Inc();
  const bool error = status >= 500 || error_code == kFailedMidBody;
  if (!g.sampler.Keep(call.head_sampled, error, took, call.critical)) {
    return;
  }
  g.metrics.spans_kept.Inc();
  observe::Span span;
  span.trace_id = call.trace_id;
  span.span_id = call.span_id;
  span.parent_id = call.parent_span;
  span.name =
      std::string(call.method) + (call.by_capability ? " /api/v1/" : " /agents/") + call.name;
  // The start in wall time, read only for the calls that keep a span.
  span.start = g.clock.WallNow() - std::chrono::duration_cast<core::WallTime::duration>(took);
  span.duration = took;
  span.http_status = status;
  span.error = error;
  // Built in place: an initializer list would build every value twice.
  auto& attributes = span.attributes;
  attributes.reserve(kSpanAttributes);
  attributes.emplace_back("agent.name", call.agent.empty() ? call.name : call.agent);
  attributes.emplace_back("agent.id", call.instance);
  attributes.emplace_back("agent.phase", call.phase > 0 ? std::to_string(call.phase) : "");
  attributes.emplace_back("request.priority", resilience::PriorityName(call.priority));
  attributes.emplace_back("operation.type", call.operation_type);
  attributes.emplace_back("http.method", call.method);
  attributes.emplace_back("http.target", call.upstream_target);
  attributes.emplace_back("http.status_code", std::to_string(status));
  attributes.emplace_back("correlation_id",
                          std::string_view(call.correlation_id.data(), call.correlation_id.size()));
  attributes.emplace_back("caller", call.caller);
  attributes.emplace_back("attempts", std::to_string(call.attempts));
  if (!error_code.empty()) {
    attributes.emplace_back("error.code", error_code);
  }
  if (g.exporter != nullptr) {
    g.exporter->Enqueue(span);
  }
  if (g.traces != nullptr) {
    g.traces->Record(std::move(span));
  }
}

}  // namespace

void ResponseParser::on_field_impl(http::field name, beast::string_view name_string,
                                   beast::string_view value, boost::system::error_code& ec) {
  ec = {};
  const std::string_view n(name_string.data(), name_string.size());
  if (name == http::field::connection) {
    if (!connection_.empty()) {
      connection_ += ',';
    }
    connection_.append(value.data(), value.size());
  }
  if (RoleOf(n) != FieldRole::kRelay) {
    return;
  }
  if (fields_.empty()) {
    fields_.reserve(kRelayedFieldsCapacity);
  }
  AppendField(fields_, n, std::string_view(value.data(), value.size()));
}

void ResponseParser::on_header_impl(boost::system::error_code& ec) {
  ec = {};
  const std::string_view connection(connection_.data(), connection_.size());
  if (!ConnectionNamesFields(connection)) {
    return;
  }
  // Rare: drop the fields the Connection header names (RFC 9110 7.6.1).
  HeadText kept;
  std::string_view rest(fields_.data(), fields_.size());
  while (!rest.empty()) {
    const std::string_view line = rest.substr(0, rest.find("\r\n"sv) + 2);
    rest.remove_prefix(line.size());
    if (!NamedByConnection(line.substr(0, line.find(':')), connection)) {
      kept.append(line);
    }
  }
  fields_ = std::move(kept);
}

UpstreamResponse::UpstreamResponse(bool head_request, std::uint64_t max_buffered)
    : max_buffered_(max_buffered) {
  if (head_request) {
    UseParser();
    parser_->skip(true);  // an answer to HEAD has no body, whatever its head says
  }
}

void UpstreamResponse::UseParser() {
  text_.clear();
  parser_ = std::make_unique<ResponseParser>();
  parser_->header_limit(kMaxUpstreamHeader);
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
}

bool UpstreamResponse::Parse(UpstreamConnection& up, Until until, boost::system::error_code& ec) {
  if (ec) {
    return true;
  }
  if (!plain_ && parser_ == nullptr) {
    const std::string_view data(static_cast<const char*>(up.buffer.data().data()),
                                up.buffer.size());
    text_.reserve(kRelayedFieldsCapacity);  // one allocation for a typical head
    switch (ScanPlainResponseHead(data, max_buffered_, head_, text_)) {
      case HeadScan::kPlain:
        relayed_size_ = text_.size();
        text_.append(head_.reason);
        up.buffer.consume(head_.size);
        plain_ = true;
        break;
      case HeadScan::kIncomplete:
        if (data.size() <= kMaxUpstreamHeader) {
          return false;
        }
        UseParser();  // which fails it with header_limit
        break;
      case HeadScan::kNotPlain:
        UseParser();
        break;
    }
  }
  if (parser_ != nullptr) {
    return ParseWithBeast(up, until, ec);
  }
  if (until == Until::kMessage && !body_done_) {
    if (up.buffer.size() < head_.content_length) {
      return false;
    }
    body_.assign(static_cast<const char*>(up.buffer.data().data()), head_.content_length);
    up.buffer.consume(head_.content_length);
    body_done_ = true;
  }
  return true;
}

bool UpstreamResponse::ParseWithBeast(UpstreamConnection& up, Until until,
                                      boost::system::error_code& ec) {
  FeedBuffered(*parser_, up.buffer, ec,
               [this, until](const ResponseParser&) { return Reached(until); });
  return ec || Reached(until);
}

boost::system::error_code UpstreamResponse::Received(UpstreamConnection& up, Until until,
                                                     boost::system::error_code ec, std::size_t n) {
  up.buffer.commit(n);
  if (ec != asio::error::eof) {
    return ec;
  }
  if (parser_ != nullptr) {
    if (parser_->got_some()) {
      ec = {};
      parser_->put_eof(ec);
      if (!ec && !Reached(until)) {
        ec = http::error::partial_message;
      }
    }
    return ec;
  }
  // A plain body has a length, so EOF ends nothing here: it cut a head or a body short.
  if (plain_ || up.buffer.size() > 0) {
    return http::error::partial_message;
  }
  return ec;
}

std::string_view UpstreamResponse::reason() const {
  if (plain_) {
    return std::string_view(text_.data(), text_.size()).substr(relayed_size_);
  }
  const auto r = parser_->get().reason();
  return {r.data(), r.size()};
}

std::optional<std::uint64_t> UpstreamResponse::content_length() const {
  if (plain_) {
    return head_.content_length;
  }
  if (const auto length = parser_->content_length()) {
    return *length;
  }
  return std::nullopt;
}

std::string_view UpstreamResponse::relayed_fields() const {
  if (plain_) {
    return {text_.data(), relayed_size_};
  }
  return parser_->relayed_fields();
}

std::string_view UpstreamResponse::body() const {
  return plain_ ? std::string_view(body_) : std::string_view(parser_->get().body());
}

void CallContextDeleter::operator()(CallContext* call) const { delete call; }

CallContext& NewCall(Connection& conn) {
  if (conn.gateway_call == nullptr) {
    conn.gateway_call.reset(new CallContext());
  } else {
    conn.gateway_call->Reset();
  }
  return *conn.gateway_call;
}

void ParseGatewayTarget(std::string_view target, CallContext& call) {
  const std::size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : target.substr(q);
  std::string_view rest;
  if (path.starts_with("/agents/")) {
    rest = path.substr(8);
  } else {
    call.by_capability = true;
    rest = path.substr(8);  // "/api/v1/"
  }
  const std::size_t slash = rest.find('/');
  call.name.assign(rest.substr(0, slash));
  call.upstream_target.assign(slash == std::string_view::npos ? "/" : rest.substr(slash));
  call.upstream_target += query;
}

bool IsHeavyRoute(const GatewayOptions& options, std::string_view path) {
  for (const auto& prefix : options.heavy_routes) {
    if (path.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

// Sends a streamed request upstream: `head`, then the body piece by piece as the client
// sends it. `head` may be the thread's head buffer, which does not survive a suspension:
// it is copied first (an awaited coroutine starts at once, before anything else runs).
asio::awaitable<boost::system::error_code> SendStreamed(
    Connection& conn, beast::flat_buffer& buffer, RequestParser& parser, UpstreamConnection& up,
    std::string_view head, std::uint64_t max_body) {
  const std::string owned_head(head);
  boost::system::error_code ec = co_await WriteUpstream(up, owned_head, {});
  if (!ec) {
    ec = co_await SendContinueIfExpected(conn, parser);
  }
  if (ec) {
    co_return ec;
  }
  const RelayEnd end = co_await RelayBody(
      parser, conn.stream, buffer, max_body, parser.chunked(),
      [&up](std::string_view frame, std::string_view data) -> asio::awaitable<bool> {
        co_return !co_await WriteUpstream(up, frame, data);
      });
  conn.phase = Connection::Phase::kHandling;
  if (end == RelayEnd::kSourceFailed) {
    co_return http::error::partial_message;
  }
  if (end == RelayEnd::kSinkFailed) {
    co_return asio::error::broken_pipe;
  }
  co_return boost::system::error_code{};
}

// Sends what a first write left of `head` + `body` (`written` bytes went out); copies the
// rest of the head first, as SendStreamed does.
asio::awaitable<boost::system::error_code> SendRest(UpstreamConnection& up, std::string_view head,
                                                    std::string_view body, std::size_t written) {
  const auto [rest_head, rest_body] = Rest(head, body, written);
  const std::string owned_rest(rest_head);
  co_return co_await WriteUpstream(up, owned_rest, rest_body);
}

// Asio recycles coroutine frames of at most 1,020 bytes per thread; a larger frame costs
// a malloc and a free per call and pushes a recycled block out. Exchange runs for every
// call, so its rare paths live in the helpers above and keep its frame under that size
// (g++ gives every local of a coroutine a place in its frame).
asio::awaitable<void> Exchange(GatewayState& g, Connection& conn, beast::flat_buffer& buffer,
                               RequestParser& parser, CallContext& call, core::TimePoint now,
                               UpstreamResult& result) {
  const UpstreamTarget& target = *result.target;
  for (bool fresh = false;; fresh = true) {
    // (No co_await inside a conditional expression: g++ 12 miscompiles those.)
    std::shared_ptr<UpstreamConnection> up = fresh ? nullptr : TakeIdleUpstream(g, target, now);
    if (up == nullptr) {
      auto connected = co_await ConnectUpstream(g, target);
      if (!connected) {
        result.error = core::Status(core::StatusCode::kUnavailable, "upstream_unavailable",
                                    connected.error().message());
        result.retryable = true;
        co_return;
      }
      up = std::move(*connected);
    }
    ArmDeadline(up, call.deadline);
    const std::string_view head = RequestHead(call, parser, target, now);
    boost::system::error_code ec;
    if (call.streamed) {
      ec = co_await SendStreamed(conn, buffer, parser, *up, head, g.options.max_body_bytes);
    } else {
      const std::string_view body = parser.get().body();
      std::size_t written = 0;
      if (!WriteNow(up->socket, head, body, written)) {
        ec = asio::error::broken_pipe;
      } else if (written < head.size() + body.size()) {
        ec = co_await SendRest(*up, head, body, written);
      }
    }
    auto response =
        std::make_unique<UpstreamResponse>(call.method == "HEAD", g.options.buffer_limit);
    // ReadUpstream's loop, inline: every call waits here, and a nested coroutine would
    // cost a frame and a resumption per call.
    while (!ec && !response->Parse(*up, UpstreamResponse::Until::kHeader, ec)) {
      auto [rec, n] = co_await up->socket.async_read_some(InqBuffer{ReadSpace(up->buffer)},
                                                          asio::as_tuple(asio::deferred));
      ec = response->Received(*up, UpstreamResponse::Until::kHeader, rec, n);
    }
    if (!ec) {
      const int status = response->status();
      result.outcome = status >= 500 ? AttemptOutcome::kFailure : AttemptOutcome::kSuccess;
      result.retryable = resilience::IsRetryableStatus(g.options.retry, status);
      result.upstream = std::move(up);
      result.response = std::move(response);
      co_return;
    }
    // A pooled connection the upstream had closed fails before any answer: once, and
    // only while the request body can be sent again, try a fresh connection.
    const bool stale = up->reused && !up->timed_out && !call.streamed &&
                       (ec == asio::error::eof || ec == asio::error::connection_reset ||
                        ec == asio::error::broken_pipe || ec == http::error::partial_message);
    if (stale && !fresh) {
      continue;
    }
    if (up->timed_out) {
      result.error = core::DeadlineExceeded(
          "upstream_timeout", "Instance '" + target.id + "' did not answer within the call's " +
                                  core::FormatDuration(call.budget.timeout) + " budget.");
      result.retryable = false;
    } else {
      result.error = core::Status(
          core::StatusCode::kUnavailable, "upstream_failed",
          "Instance '" + target.id + "' failed before answering: " + ec.message() + ".");
      result.retryable = !call.streamed;
    }
    DisarmDeadline(*up);
    co_return;
  }
}

asio::awaitable<void> BufferForRetry(GatewayState& g, UpstreamResult& result) {
  if (result.response == nullptr || result.buffered) {
    co_return;
  }
  UpstreamResponse& p = *result.response;
  const auto length = p.content_length();
  if (!p.done() && !(length && *length <= g.options.buffer_limit)) {
    result.error = core::Status(
        core::StatusCode::kUnavailable, "upstream_failed",
        "Instance '" + result.target->id + "' answered " + std::to_string(p.status()) + ".");
    result.response.reset();
    result.upstream.reset();
    co_return;
  }
  boost::system::error_code ec;
  if (!p.Parse(*result.upstream, UpstreamResponse::Until::kMessage, ec)) {
    ec = co_await ReadUpstream(*result.upstream, p, UpstreamResponse::Until::kMessage);
  }
  DisarmDeadline(*result.upstream);
  if (ec) {
    result.error = core::Status(core::StatusCode::kUnavailable, "upstream_failed",
                                "Instance '" + result.target->id + "' failed mid-answer.");
    result.response.reset();
    result.upstream.reset();
    co_return;
  }
  result.buffered = true;
  if (p.keep_alive()) {
    ReleaseUpstream(g, *result.target, std::move(result.upstream), g.clock.Now());
  }
  result.upstream.reset();
}

asio::awaitable<bool> FinishExchange(GatewayState& g, ServerState& s, Connection& conn,
                                     CallContext& call, UpstreamResult& result, AgentRoute* route) {
  if (result.response == nullptr) {
    if (result.upstream != nullptr) {
      DisarmDeadline(*result.upstream);
    }
    const bool keep = co_await AnswerError(g, s, conn, call, result.error, {}, route);
    co_return keep && !call.streamed;
  }
  UpstreamResponse& p = *result.response;
  const int status = p.status();
  const std::optional<std::uint64_t> length = p.content_length();
  const bool bodiless = Bodiless(call.method, status);
  // Always so for a plain head: its body is at most buffer_limit.
  const bool small =
      bodiless || result.buffered || p.done() || (length && *length <= g.options.buffer_limit);
  bool ok = true;
  core::TimePoint responded;  // when the response was handed to the socket
  if (small) {
    boost::system::error_code ec;
    if (!result.buffered && !p.Parse(*result.upstream, UpstreamResponse::Until::kMessage, ec)) {
      ec = co_await ReadUpstream(*result.upstream, p, UpstreamResponse::Until::kMessage);
    }
    if (ec) {
      DisarmDeadline(*result.upstream);
      result.failed_mid_body = true;
      const bool keep = co_await AnswerError(
          g, s, conn, call,
          core::Status(core::StatusCode::kUnavailable, "upstream_failed",
                       "Instance '" + result.target->id + "' failed mid-answer."),
          {}, route);
      co_return keep;
    }
    const std::string_view body = p.body();
    const std::optional<std::uint64_t> framed =
        bodiless ? (length ? length : std::nullopt) : std::optional<std::uint64_t>(body.size());
    const std::string_view head = ResponseHead(call, p, false, framed, call.keep_alive);
    const std::string_view out_body = bodiless ? std::string_view() : std::string_view(body);
    std::size_t written = 0;
    ok = WriteNow(conn.stream.socket(), head, out_body, written);
    if (ok && written < head.size() + out_body.size()) {
      const auto [rest_head, rest_body] = Rest(head, out_body, written);
      const std::string owned_rest(rest_head);
      ok = co_await Write(conn, s, owned_rest, rest_body);
    }
    responded = g.clock.Now();
    if (result.upstream != nullptr) {
      DisarmDeadline(*result.upstream);
      if (p.keep_alive()) {
        ReleaseUpstream(g, *result.target, std::move(result.upstream), responded);
      }
    }
  } else {
    // Large or unknown-length body: stream it, under a fresh request timeout.
    ArmDeadline(result.upstream, g.clock.Now() + g.options.request_timeout);
    const bool chunked = !length && !call.http10;
    if (!length && call.http10) {
      call.keep_alive = false;  // close-delimited for an HTTP/1.0 client
    }
    const std::string head(ResponseHead(call, p, chunked, length, call.keep_alive));
    ok = co_await Write(conn, s, head, {});
    const bool keep_upstream = p.keep_alive();
    if (ok) {
      UpstreamConnection& source = *result.upstream;
      const RelayEnd end = co_await RelayBody(
          *p.parser(), source.socket, source.buffer, std::numeric_limits<std::uint64_t>::max(),
          chunked,
          [&conn, &s](std::string_view frame, std::string_view data) -> asio::awaitable<bool> {
            co_return co_await Write(conn, s, frame, data);
          });
      ok = end == RelayEnd::kDone;
      result.failed_mid_body = end == RelayEnd::kSourceFailed;
    }
    DisarmDeadline(*result.upstream);
    responded = g.clock.Now();
    if (ok && keep_upstream) {
      ReleaseUpstream(g, *result.target, std::move(result.upstream), responded);
    }
    if (!ok) {
      call.keep_alive = false;  // the client saw a partial body: only a close ends it
    }
  }
  result.upstream.reset();
  FinishCall(g, conn, call, status, {}, route, responded);
  co_return ok&& call.keep_alive;
}

asio::awaitable<bool> AnswerError(GatewayState& g, ServerState& s, Connection& conn,
                                  CallContext& call, const core::Status& status,
                                  core::Duration retry_after, AgentRoute* route) {
  Response r = ErrorResponse(status);
  if (status.reason() == "call_depth_exceeded") {
    r.status = 508;
  } else if (status.reason() == "upstream_failed" || status.reason() == "upstream_unavailable") {
    r.status = 502;
  }
  std::string head;
  SerializeHead(r, std::string_view(call.correlation_id.data(), call.correlation_id.size()),
                call.keep_alive, call.http10, head);
  if (retry_after > core::Duration::zero()) {
    const auto seconds = std::chrono::ceil<std::chrono::seconds>(retry_after).count();
    // Before the blank line that ends the head.
    head.insert(head.size() - 2,
                "Retry-After: " + std::to_string(std::max<long>(1, seconds)) + "\r\n");
  }
  const bool written = co_await Write(conn, s, head, r.body);
  FinishCall(g, conn, call, r.status, status.reason(), route, g.clock.Now());
  co_return written&& call.keep_alive;
}

asio::awaitable<bool> AnswerRejection(GatewayState& g, ServerState& s, Connection& conn,
                                      beast::flat_buffer& buffer, RequestParser& parser,
                                      CallContext& call, const core::Status& status,
                                      core::Duration retry_after, AgentRoute* route) {
  if (call.streamed || status.reason() == "body_too_large") {
    call.keep_alive = false;
  } else if (!parser.is_done()) {
    parser.body_limit(g.options.buffer_limit);
    if (co_await ReadBody(conn, buffer, parser)) {
      call.keep_alive = false;
    }
  }
  const bool keep = co_await AnswerError(g, s, conn, call, status, retry_after, route);
  if (!call.keep_alive && !parser.is_done()) {
    co_await LingeringClose(conn.stream);
  }
  co_return keep;
}

}  // namespace agentmesh::server::internal
