// Reads an election's event stream with Beast: the response head within the connect
// timeout, then the body chunk by chunk, split into Server-Sent Events.
#include "cli/election_watch.h"

#include <exception>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "agentmesh/client/api_status.h"
#include "agentmesh/client/http_client.h"

namespace agentmesh::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using EventCallback = std::function<bool(const std::string& data)>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Splits a text/event-stream into events: lines "event: NAME" and "data: TEXT", a blank
// line ends an event, lines starting with ':' are comments (keepalives).
class EventStreamParser {
 public:
  // Feeds `bytes`; returns ok to go on, kCancelled "done" when `on_event` asked to
  // stop, or the error an "error" event carries.
  core::Status Feed(std::string_view bytes, const EventCallback& on_event) {
    for (const char c : bytes) {
      if (c != '\r') {
        pending_ += c;
      }
    }
    std::size_t end = 0;
    while ((end = pending_.find("\n\n")) != std::string::npos) {
      const std::string frame = pending_.substr(0, end + 1);
      pending_.erase(0, end + 2);
      if (core::Status s = Dispatch(frame, on_event); !s.ok()) {
        return s;
      }
    }
    return core::OkStatus();
  }

 private:
  static core::Status Dispatch(const std::string& frame, const EventCallback& on_event) {
    std::string event;
    std::string data;
    std::size_t start = 0;
    while (start < frame.size()) {
      const std::size_t nl = frame.find('\n', start);
      const std::string_view line(frame.data() + start, nl - start);
      start = nl + 1;
      const auto value = [&line](std::string_view field) {
        std::string_view v = line.substr(field.size());
        return std::string(v.starts_with(' ') ? v.substr(1) : v);
      };
      if (line.starts_with("event:")) {
        event = value("event:");
      } else if (line.starts_with("data:")) {
        data += (data.empty() ? "" : "\n") + value("data:");
      }
    }
    if (event == "error") {
      client::HttpResponse answer;
      answer.status = 400;  // the only error a stream reports is a malformed name
      answer.body = data;
      return client::StatusFromResponse(answer);
    }
    if ((event == "leader" || event.empty()) && !data.empty() && !on_event(data)) {
      return core::Status(core::StatusCode::kCancelled, "done", "The watcher stopped.");
    }
    return core::OkStatus();
  }

  std::string pending_;
};

core::Status Transport(const boost::system::error_code& ec, std::string_view what) {
  if (ec == beast::error::timeout) {
    return core::DeadlineExceeded("timeout", std::string(what) + " timed out.");
  }
  return core::Unavailable("connect_failed", std::string(what) + " failed: " + ec.message());
}

asio::awaitable<core::Status> Watch(client::BaseUrl url, std::string target, core::Duration timeout,
                                    const EventCallback& on_event) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(ex);
  auto [rec, endpoints] = co_await resolver.async_resolve(url.host, url.port, kTuple);
  if (rec) {
    co_return Transport(rec, "Resolving " + url.host);
  }
  beast::tcp_stream stream(ex);
  stream.expires_after(timeout);
  auto [cec, endpoint] = co_await stream.async_connect(endpoints, kTuple);
  if (cec) {
    co_return Transport(cec, "Connecting to " + url.host + ":" + url.port);
  }
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, url.host + ":" + url.port);
  req.set(http::field::accept, "text/event-stream");
  req.set(http::field::user_agent, "agentmesh-cli");
  req.set(http::field::connection, "close");
  auto [wec, written] = co_await http::async_write(stream, req, kTuple);
  if (wec) {
    co_return Transport(wec, "Sending the watch request");
  }
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  beast::flat_buffer buffer;
  auto [hec, head] = co_await http::async_read_header(stream, buffer, parser, kTuple);
  if (hec) {
    co_return Transport(hec, "Reading the watch answer");
  }
  const int status = parser.get().result_int();
  if (status == 200) {
    stream.expires_never();
  }
  std::string error_body;
  EventStreamParser events;
  char chunk[4096];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof(chunk);
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, kTuple);
    const std::string_view got(chunk, sizeof(chunk) - parser.get().body().size);
    if (status != 200) {
      error_body.append(got);
    } else if (core::Status s = events.Feed(got, on_event); !s.ok()) {
      co_return s.code() == core::StatusCode::kCancelled ? core::OkStatus() : s;
    }
    if (ec && ec != http::error::need_buffer) {
      break;
    }
  }
  if (status != 200) {
    client::HttpResponse answer;
    answer.status = status;
    answer.body = std::move(error_body);
    core::Status s = client::StatusFromResponse(answer);
    co_return s.ok() ? core::Unavailable("bad_response", "The node did not start an event stream.")
                     : s;
  }
  co_return core::Unavailable("stream_closed", "The node ended the watch stream.");
}

}  // namespace

core::Status WatchElection(std::string_view base_url, std::string_view path_name,
                           core::Duration connect_timeout, const EventCallback& on_event) {
  auto url = client::ParseBaseUrl(base_url);
  if (!url) {
    return url.error();
  }
  std::string target = url->path_prefix + "/v1/elections/" + std::string(path_name) + "/watch";
  asio::io_context io;
  core::Status result = core::Internal("watch_not_run", "The watch did not run.");
  asio::co_spawn(io, Watch(*url, std::move(target), connect_timeout, on_event),
                 [&result](std::exception_ptr e, core::Status s) {
                   result = e ? core::Internal("watch_failed", "The watch failed unexpectedly.")
                              : std::move(s);
                 });
  io.run();
  return result;
}

}  // namespace agentmesh::cli
