#include <array>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "agentmesh/etcd/etcd_client.h"

#include "etcd/etcd_client_internal.h"
#include "etcd/etcd_json_internal.h"

namespace agentmesh::etcd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunkBytes = 64 * 1024;
// One watch message larger than this is refused (etcd's default request limit is 1.5 MiB
// per value; a batch may carry many).
constexpr std::size_t kMaxMessageBytes = 64ull << 20;
constexpr std::string_view kUserAgent = "agentmesh-etcd/0.1";

core::Status Cancelled() {
  return {core::StatusCode::kCancelled, "watch_closed", "the etcd watch was closed"};
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// The watch's connection and the bytes of its response body not yet split into
// messages. Shared by the EtcdWatch and the coroutines running on it, so Close() or
// the destructor never pull the stream from under a pending read.
struct WatchStream {
  WatchStream(asio::any_io_executor ex, std::shared_ptr<internal::Endpoints> e, core::Duration t)
      : stream(ex), resolver(ex), endpoints(std::move(e)), timeout(t) {}

  // Drops the connection and everything read from it; only while no read is pending.
  void Reset() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buffer.clear();
    parser.reset();
    pending.clear();
  }

  // Closes the socket only: a pending read still refers to the parser and the buffer,
  // and completes with operation_aborted.
  void Cancel() {
    closed = true;
    resolver.cancel();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
  }

  // Maps an I/O error: kCancelled after Close(), else the stream is gone.
  core::Status FromIoError(const beast::error_code& ec, std::string_view what) const {
    if (closed) {
      return Cancelled();
    }
    if (ec == beast::error::timeout) {
      return core::DeadlineExceeded("etcd_timeout", std::string(what) + " timed out");
    }
    return core::Unavailable("etcd_unavailable", std::string(what) + " failed: " + ec.message());
  }

  beast::tcp_stream stream;
  tcp::resolver resolver;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> parser;
  std::array<char, kReadChunkBytes> chunk;
  std::string pending;
  std::shared_ptr<internal::Endpoints> endpoints;
  core::Duration timeout;
  std::string where;  // the endpoint the stream is on, for messages
  bool started = false;
  bool closed = false;
  core::Status broken;  // once not ok, what every Next() returns
};

using StreamPtr = std::shared_ptr<WatchStream>;

// Connects to endpoint `i`, sends the watch request and reads the response header.
asio::awaitable<core::Status> Open(StreamPtr s, std::size_t i, std::string body,
                                   core::TimePoint deadline) {
  const internal::Endpoint& endpoint = s->endpoints->list[i];
  s->Reset();
  s->where = endpoint.url;
  auto [resolve_ec, resolved] =
      co_await s->resolver.async_resolve(endpoint.host, endpoint.port, kNoThrow);
  if (s->closed) {
    co_return Cancelled();
  }
  if (resolve_ec) {
    co_return core::Unavailable("etcd_unavailable",
                                "cannot resolve " + endpoint.url + ": " + resolve_ec.message());
  }
  s->stream.expires_at(deadline);
  auto [connect_ec, connected] = co_await s->stream.async_connect(resolved, kNoThrow);
  if (connect_ec) {
    co_return s->FromIoError(connect_ec, "connecting to etcd at " + endpoint.url);
  }
  http::request<http::string_body> request{http::verb::post, "/v3/watch", 11};
  request.set(http::field::host, endpoint.host + ":" + endpoint.port);
  request.set(http::field::user_agent, kUserAgent);
  request.set(http::field::content_type, "application/json");
  request.body() = std::move(body);
  request.prepare_payload();
  auto [write_ec, written] = co_await http::async_write(s->stream, request, kNoThrow);
  if (write_ec) {
    co_return s->FromIoError(write_ec, "POST /v3/watch to " + endpoint.url);
  }
  s->parser.emplace();
  s->parser->body_limit(boost::none);
  auto [read_ec, read] =
      co_await http::async_read_header(s->stream, s->buffer, *s->parser, kNoThrow);
  if (read_ec) {
    co_return s->FromIoError(read_ec, "POST /v3/watch to " + endpoint.url);
  }
  co_return core::OkStatus();
}

// Returns the next message of the stream, unwrapped from {"result": ...}.
asio::awaitable<core::Result<json::object>> ReadMessage(StreamPtr s) {
  for (;;) {
    if (s->closed) {
      co_return core::Err(Cancelled());
    }
    if (const std::size_t newline = s->pending.find('\n'); newline != std::string::npos) {
      std::string line = s->pending.substr(0, newline);
      s->pending.erase(0, newline + 1);
      if (IsBlank(line)) {
        continue;
      }
      co_return internal::ParseAnswer(s->parser->get().result_int(), line);
    }
    if (s->parser->is_done()) {
      if (!IsBlank(s->pending)) {
        std::string last = std::move(s->pending);
        s->pending.clear();
        co_return internal::ParseAnswer(s->parser->get().result_int(), last);
      }
      co_return core::Err(
          core::Unavailable("etcd_unavailable", "etcd at " + s->where + " ended the watch stream"));
    }
    if (s->pending.size() > kMaxMessageBytes) {
      co_return core::Err(core::Internal(
          "etcd_error", "a watch message from etcd at " + s->where + " is too large"));
    }
    auto& body = s->parser->get().body();
    body.data = s->chunk.data();
    body.size = s->chunk.size();
    auto [ec, n] = co_await http::async_read_some(s->stream, s->buffer, *s->parser, kNoThrow);
    if (ec && ec != http::error::need_buffer) {
      co_return core::Err(s->FromIoError(ec, "reading the watch stream from " + s->where));
    }
    s->pending.append(s->chunk.data(), s->chunk.size() - body.size);
  }
}

core::Status StatusOfCanceled(const json::object& message, const std::string& where) {
  if (const std::int64_t compacted = internal::Int64Field(message, "compact_revision");
      compacted > 0) {
    return core::FailedPrecondition(
        "compacted",
        "etcd compacted the watched history up to revision " + std::to_string(compacted));
  }
  return core::Unavailable("etcd_unavailable", "etcd at " + where + " canceled the watch: " +
                                                   internal::StringField(message, "cancel_reason"));
}

// Opens the stream on the first endpoint that answers and waits for etcd's "created".
asio::awaitable<core::Status> StartStream(StreamPtr s, std::string body) {
  if (s->closed) {
    co_return Cancelled();
  }
  if (s->started) {
    co_return core::FailedPrecondition("watch_started", "an EtcdWatch is started only once");
  }
  if (!s->endpoints->invalid.ok()) {
    co_return s->endpoints->invalid;
  }
  const core::TimePoint deadline = core::SystemClock::Instance().Now() + s->timeout;
  const std::size_t n = s->endpoints->list.size();
  const std::size_t first = s->endpoints->preferred.load();
  core::Status last = core::DeadlineExceeded("etcd_timeout", "etcd did not confirm the watch");
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (first + k) % n;
    if (core::SystemClock::Instance().Now() >= deadline) {
      break;
    }
    core::Status opened = co_await Open(s, i, body, deadline);
    if (opened.ok()) {
      auto created = co_await ReadMessage(s);
      if (created && internal::BoolField(*created, "canceled")) {
        opened = StatusOfCanceled(*created, s->where);
      } else if (created && !internal::BoolField(*created, "created")) {
        opened = core::Internal(
            "etcd_error",
            "etcd at " + s->where + " did not confirm the watch: " + json::serialize(*created));
      } else if (!created) {
        opened = created.error();
      }
    }
    if (opened.ok()) {
      s->stream.expires_never();
      s->started = true;
      s->endpoints->preferred.store(i);
      co_return core::OkStatus();
    }
    s->Reset();
    if (opened.code() != core::StatusCode::kUnavailable) {
      co_return opened;
    }
    last = std::move(opened);
  }
  co_return last;
}

// Reads messages until one carries events, skipping progress notifications.
asio::awaitable<core::Result<WatchBatch>> NextBatch(StreamPtr s) {
  if (!s->broken.ok()) {
    co_return core::Err(s->broken);
  }
  if (!s->started) {
    co_return core::Err(
        s->closed ? Cancelled()
                  : core::FailedPrecondition("watch_not_started", "call Start() before Next()"));
  }
  for (;;) {
    auto message = co_await ReadMessage(s);
    if (!message) {
      s->broken = message.error();
      s->Reset();
      co_return core::Err(s->broken);
    }
    if (internal::BoolField(*message, "canceled")) {
      s->broken = StatusOfCanceled(*message, s->where);
      s->Reset();
      co_return core::Err(s->broken);
    }
    const json::value* events = message->if_contains("events");
    if (events == nullptr || !events->is_array() || events->get_array().empty()) {
      continue;  // a progress notification
    }
    WatchBatch batch;
    batch.revision = internal::HeaderRevision(*message);
    for (const json::value& item : events->get_array()) {
      if (!item.is_object()) {
        continue;
      }
      const json::object& event = item.get_object();
      auto kv = internal::DecodeKeyValue(internal::ObjectField(event, "kv"));
      if (!kv) {
        s->broken = kv.error();
        s->Reset();
        co_return core::Err(s->broken);
      }
      WatchEvent out;
      out.type = internal::StringField(event, "type") == "DELETE" ? WatchEvent::Type::kDelete
                                                                  : WatchEvent::Type::kPut;
      out.kv = std::move(*kv);
      batch.events.push_back(std::move(out));
    }
    co_return batch;
  }
}

}  // namespace

struct EtcdWatch::State : WatchStream {
  using WatchStream::WatchStream;
};

EtcdWatch::EtcdWatch(asio::any_io_executor ex, const EtcdClient& client)
    : state_(std::make_shared<State>(std::move(ex), client.pool_->endpoints,
                                     client.options().request_timeout)) {}

EtcdWatch::~EtcdWatch() { state_->Cancel(); }

void EtcdWatch::Close() { state_->Cancel(); }

// Start() and Next() hand the coroutines the shared state and an encoded request, so
// the awaitables they return own everything they use.
asio::awaitable<core::Status> EtcdWatch::Start(const std::string& key, const std::string& range_end,
                                               std::int64_t start_revision) {
  json::object create;
  create["key"] = internal::Base64Encode(key);
  if (!range_end.empty()) {
    create["range_end"] = internal::Base64Encode(range_end);
  }
  if (start_revision > 0) {
    create["start_revision"] = std::to_string(start_revision);
  }
  json::object request;
  request["create_request"] = std::move(create);
  std::string body = json::serialize(request);
  StreamPtr s = state_;
  return StartStream(s, std::move(body));
}

asio::awaitable<core::Result<WatchBatch>> EtcdWatch::Next() {
  StreamPtr s = state_;
  return NextBatch(s);
}

}  // namespace agentmesh::etcd
