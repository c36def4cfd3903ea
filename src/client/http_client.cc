#include "agentmesh/client/http_client.h"

#include <charconv>
#include <exception>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

namespace agentmesh::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// Large enough for /debug/health of a few thousand instances.
constexpr std::uint64_t kMaxResponseBodyBytes = 64ull << 20;
constexpr std::string_view kUserAgent = "agentmesh-client/0.1";

core::Status Timeout(std::string_view what, std::string_view where) {
  return {core::StatusCode::kDeadlineExceeded, "timeout",
          std::string(what) + " to " + std::string(where) + " timed out"};
}

core::Status FromIoError(const beast::error_code& ec, std::string_view what,
                         std::string_view where) {
  if (ec == beast::error::timeout) {
    return Timeout(what, where);
  }
  std::string message =
      std::string(what) + " to " + std::string(where) + " failed: " + ec.message();
  if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
      ec != http::error::end_of_stream) {
    return core::Unavailable("bad_response", std::move(message));
  }
  return core::Unavailable("connection_closed", std::move(message));
}

// Errors that mean a kept-alive connection was closed by the peer before it read our
// request: the request can be retried on a new connection.
bool IsStaleConnection(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

HttpResponse ToResponse(http::response<http::string_body>&& res) {
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(res.body());
  return out;
}

}  // namespace

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) {
      return value;
    }
  }
  return {};
}

struct HttpConnection::State {
  State(asio::any_io_executor ex, std::string h, std::string p)
      : stream(ex), resolver(ex), host(std::move(h)), port(std::move(p)) {}

  std::string Where() const { return host + ":" + port; }

  void Reset() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    connected = false;
  }

  asio::awaitable<core::Status> Connect(core::TimePoint deadline) {
    const std::uint64_t closes_before = closes;
    auto [resolve_ec, endpoints] = co_await resolver.async_resolve(host, port, kNoThrow);
    if (closes != closes_before) {
      co_return core::Unavailable("connection_closed", "connection to " + Where() + " was closed");
    }
    if (resolve_ec) {
      co_return core::Unavailable("connect_failed",
                                  "cannot resolve " + Where() + ": " + resolve_ec.message());
    }
    stream.expires_at(deadline);
    auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, kNoThrow);
    if (connect_ec) {
      Reset();
      if (connect_ec == beast::error::timeout) {
        co_return Timeout("connect", Where());
      }
      co_return core::Unavailable("connect_failed",
                                  "cannot connect to " + Where() + ": " + connect_ec.message());
    }
    beast::error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    connected = true;
    co_return core::OkStatus();
  }

  beast::tcp_stream stream;
  tcp::resolver resolver;
  beast::flat_buffer buffer;
  std::string host;
  std::string port;
  bool connected = false;
  std::uint64_t closes = 0;  // Close() calls, so a Send in flight notices one
};

HttpConnection::HttpConnection(asio::any_io_executor ex, std::string host, std::string port)
    : state_(std::make_unique<State>(std::move(ex), std::move(host), std::move(port))) {}

HttpConnection::~HttpConnection() = default;

void HttpConnection::Close() {
  ++state_->closes;
  state_->resolver.cancel();
  state_->Reset();
}

asio::awaitable<core::Result<HttpResponse>> HttpConnection::Send(HttpRequest req,
                                                                 core::Duration timeout) {
  State& s = *state_;
  const http::verb verb = http::string_to_verb(req.method);
  if (verb == http::verb::unknown) {
    co_return core::Err(
        core::InvalidArgument("invalid_method", "unknown HTTP method '" + req.method + "'"));
  }
  http::request<http::string_body> msg{verb, req.target, 11};
  msg.set(http::field::host, s.Where());
  msg.set(http::field::user_agent, kUserAgent);
  for (auto& [name, value] : req.headers) {
    msg.set(name, value);
  }
  if (!req.body.empty() && msg.find(http::field::content_type) == msg.end()) {
    msg.set(http::field::content_type, "application/json");
  }
  msg.body() = std::move(req.body);
  msg.prepare_payload();

  const core::TimePoint deadline = core::SystemClock::Instance().Now() + timeout;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = s.connected;
    if (!s.connected) {
      core::Status st = co_await s.Connect(deadline);
      if (!st.ok()) {
        co_return core::Err(std::move(st));
      }
    }
    s.stream.expires_at(deadline);
    auto [write_ec, written] = co_await http::async_write(s.stream, msg, kNoThrow);
    if (write_ec) {
      s.Reset();
      if (reused && IsStaleConnection(write_ec)) {
        continue;
      }
      co_return core::Err(FromIoError(write_ec, req.method + " " + req.target, s.Where()));
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBodyBytes);
    parser.skip(req.method == "HEAD");  // a HEAD answer has headers only, whatever they say
    auto [read_ec, read] = co_await http::async_read(s.stream, s.buffer, parser, kNoThrow);
    if (read_ec) {
      const bool got_some = parser.got_some();
      s.Reset();
      if (reused && !got_some && IsStaleConnection(read_ec)) {
        continue;
      }
      co_return core::Err(FromIoError(read_ec, req.method + " " + req.target, s.Where()));
    }
    http::response<http::string_body> res = parser.release();
    const bool keep_alive = res.keep_alive();
    HttpResponse out = ToResponse(std::move(res));
    if (keep_alive) {
      s.stream.expires_never();
    } else {
      s.Reset();
    }
    co_return out;
  }
  co_return core::Err(core::Unavailable(
      "connection_closed", s.Where() + " closed the connection before answering " + req.target));
}

core::Result<std::pair<std::string, std::string>> SplitHostPort(std::string_view host_port) {
  auto invalid = [&] {
    return core::Err(core::InvalidArgument(
        "invalid_url", "expected host:port, got '" + std::string(host_port) + "'"));
  };
  const std::size_t colon = host_port.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == host_port.size()) {
    return invalid();
  }
  std::string_view host = host_port.substr(0, colon);
  std::string_view port = host_port.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return invalid();
    }
    host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return invalid();
  }
  return std::pair<std::string, std::string>(std::string(host), std::string(port));
}

asio::awaitable<core::Result<HttpResponse>> FetchOnce(asio::any_io_executor ex,
                                                      std::string host_port, HttpRequest req,
                                                      core::Duration timeout) {
  auto parts = SplitHostPort(host_port);
  if (!parts) {
    co_return core::Err(parts.error());
  }
  HttpConnection connection(std::move(ex), std::move(parts->first), std::move(parts->second));
  auto result = co_await connection.Send(std::move(req), timeout);
  connection.Close();
  co_return result;
}

core::Result<BaseUrl> ParseBaseUrl(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "http" || parsed->host_address().empty()) {
    return core::Err(core::InvalidArgument(
        "invalid_url",
        "expected a URL like http://127.0.0.1:7700, got '" + std::string(url) + "'"));
  }
  BaseUrl out;
  out.host = parsed->host_address();
  out.port = parsed->has_port() ? std::string(parsed->port()) : "80";
  out.path_prefix = std::string(parsed->encoded_path());
  while (!out.path_prefix.empty() && out.path_prefix.back() == '/') {
    out.path_prefix.pop_back();
  }
  return out;
}

core::Result<HttpResponse> FetchBlocking(std::string_view base_url, HttpRequest req,
                                         core::Duration timeout) {
  auto base = ParseBaseUrl(base_url);
  if (!base) {
    return core::Err(base.error());
  }
  req.target = base->path_prefix + req.target;

  std::optional<core::Result<HttpResponse>> out;
  try {
    asio::io_context ioc;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          HttpConnection connection(ioc.get_executor(), base->host, base->port);
          out = co_await connection.Send(std::move(req), timeout);
          connection.Close();
        },
        asio::detached);
    ioc.run();
  } catch (const std::exception& e) {
    return core::Err(core::Internal("client_exception", e.what()));
  }
  if (!out) {
    return core::Err(core::Internal("client_exception", "request did not complete"));
  }
  return std::move(*out);
}

}  // namespace agentmesh::client
