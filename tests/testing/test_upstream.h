// TestUpstream: a real HTTP/1.1 keep-alive server on 127.0.0.1:0 that gateway integration
// tests put behind the node and command to misbehave (fail, stall, answer slowly, die in
// the middle of a body, reset the connection) or to call onwards through the gateway, so
// that chains A -> gateway -> B can be built. It records every request it received.
//
// Each TestUpstream runs its own io_context on one background thread; connections are
// C++20 coroutines on it. GET /health answers 200 or 503 (SetHealthy) whatever the mode,
// and is neither recorded nor counted. Thread-safety: every public method may be called
// from any thread; the destructor stops the server and joins its thread, closing every
// open connection (stalled requests included).
#pragma once

#include <chrono>
#include <cstddef>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "agentmesh/client/http_client.h"

namespace agentmesh::testing {

class TestUpstream {
 public:
  enum class Mode {
    kOk,           // 200 JSON naming the upstream (or forwards, see SetForward)
    kFail,         // answers `status` (500 by default)
    kStall,        // reads the request and never answers until Release() or destruction
    kSlow,         // waits `delay`, then behaves as kOk
    kDieMidBody,   // 200 with Content-Length 100000, sends 1000 bytes, then closes
    kReset,        // closes the connection (RST) without answering
    kOkThenClose,  // answers as kOk, keep-alive as asked, then closes the connection
    kRaw,          // writes the bytes given to SetRawAnswer, exactly as they are
  };

  struct Received {
    std::string method, target, body;
    std::vector<std::pair<std::string, std::string>> headers;
  };

  // Starts listening on 127.0.0.1:0; listening when the constructor returns.
  explicit TestUpstream(std::string name)
      : name_(std::move(name)),
        work_(boost::asio::make_work_guard(io_)),
        acceptor_(io_),
        stall_timer_(io_, boost::asio::steady_timer::time_point::max()) {
    using boost::asio::ip::tcp;
    const tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    boost::asio::co_spawn(io_, Accept(), boost::asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~TestUpstream() {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  TestUpstream(const TestUpstream&) = delete;
  TestUpstream& operator=(const TestUpstream&) = delete;

  // Returns "127.0.0.1:PORT".
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Returns the name this upstream reports in X-Upstream and its kOk body.
  const std::string& name() const { return name_; }

  // Switches how non-/health requests are answered; `status` is used by kFail, `delay`
  // by kSlow. Requests already stalled stay stalled until Release().
  void SetMode(Mode mode, int status = 500, std::chrono::milliseconds delay = {}) {
    std::lock_guard lock(mu_);
    mode_ = mode;
    status_ = status;
    delay_ = delay;
  }

  // Switches to kRaw: every non-/health request is answered with `bytes`, after which the
  // connection is closed when `close_after`, else read for the next request.
  void SetRawAnswer(std::string bytes, bool close_after) {
    std::lock_guard lock(mu_);
    mode_ = Mode::kRaw;
    raw_ = std::move(bytes);
    raw_close_ = close_after;
  }

  // Answers every stalled request as kOk and switches the mode to kOk.
  void Release() {
    {
      std::lock_guard lock(mu_);
      mode_ = Mode::kOk;
      ++releases_;
    }
    boost::asio::post(io_, [this] { stall_timer_.cancel(); });
  }

  // Makes kOk answers (also after kSlow's delay or a Release) come from a GET to
  // http://{gateway_host_port}{next_target} carrying the incoming request's correlation,
  // trace and budget headers; its status, body and Content-Type are returned (502 with a
  // JSON error when that call fails). An empty `gateway_host_port` turns forwarding off.
  void SetForward(std::string gateway_host_port, std::string next_target) {
    std::lock_guard lock(mu_);
    forward_host_port_ = std::move(gateway_host_port);
    forward_target_ = std::move(next_target);
  }

  // Adds `headers` to every answer from now on (before its Connection field is set).
  void SetResponseHeaders(std::vector<std::pair<std::string, std::string>> headers) {
    std::lock_guard lock(mu_);
    response_headers_ = std::move(headers);
  }

  // Makes GET /health answer 200 (true, the default) or 503.
  void SetHealthy(bool healthy) {
    std::lock_guard lock(mu_);
    healthy_ = healthy;
  }

  // Returns every non-/health request received so far, in arrival order.
  std::vector<Received> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }

  // Returns how many non-/health requests were received.
  std::size_t requests() const {
    std::lock_guard lock(mu_);
    return received_.size();
  }

  // Closes the listener so that new connections are refused; open connections stay.
  void StopListening() {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      done.set_value();
    });
    done.get_future().get();
  }

 private:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  // Headers a forwarded call carries over from the request that caused it.
  static constexpr std::string_view kForwardedHeaders[] = {"X-Correlation-ID", "traceparent",
                                                           "tracestate", "X-Agentmesh-Deadline-Ms",
                                                           "X-Agentmesh-Call-Depth"};
  // Bound on a forwarded call; above the gateway's default 30 s request timeout.
  static constexpr std::chrono::seconds kForwardTimeout{60};
  static constexpr std::uint64_t kMaxRequestBodyBytes = 16 * 1024 * 1024;
  static constexpr std::size_t kDieMidBodyDeclared = 100000;
  static constexpr std::size_t kDieMidBodySent = 1000;

  // What one request is answered with, decided under the lock when it arrives.
  struct Plan {
    Mode mode = Mode::kOk;
    int status = 500;
    std::chrono::milliseconds delay{};
    std::uint64_t releases = 0;
    std::string raw;
    bool raw_close = false;
  };

  static constexpr auto kNoThrow = boost::asio::as_tuple(boost::asio::use_awaitable);

  boost::asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) {
        co_return;
      }
      boost::asio::co_spawn(io_, Session(std::move(socket)), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> Session(boost::asio::ip::tcp::socket socket) {
    namespace http = boost::beast::http;
    boost::beast::tcp_stream stream(std::move(socket));
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxRequestBodyBytes);
      auto [ec, read] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      if (ec) {
        co_return;
      }
      Request req = parser.release();
      bool close_after = false;
      std::optional<Response> res = co_await Answer(stream, req, close_after);
      if (!res && !close_after) {
        continue;  // answered already
      }
      if (!res) {
        boost::system::error_code ignored;
        stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
        co_return;
      }
      auto [write_ec, written] = co_await http::async_write(stream, *res, kNoThrow);
      if (write_ec || !res->keep_alive() || close_after) {
        boost::system::error_code ignored;
        stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
        co_return;
      }
    }
  }

  // Returns the response to write, or nullopt when the answer was written already or the
  // connection closed instead. Sets `close_after` when the connection is to close once the
  // response is written (always when nullopt comes with no answer written).
  boost::asio::awaitable<std::optional<Response>> Answer(boost::beast::tcp_stream& stream,
                                                         const Request& req, bool& close_after) {
    namespace http = boost::beast::http;
    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/health") {
      bool healthy = true;
      {
        std::lock_guard lock(mu_);
        healthy = healthy_;
      }
      co_return MakeResponse(req, healthy ? 200 : 503, "application/json",
                             healthy ? R"({"status":"ok"})" : R"({"status":"unhealthy"})");
    }
    const Plan plan = Record(req);
    switch (plan.mode) {
      case Mode::kFail:
        co_return MakeResponse(req, plan.status, "application/json",
                               R"({"error":"injected_failure"})");
      case Mode::kReset:
        ResetConnection(stream);
        close_after = true;
        co_return std::nullopt;
      case Mode::kDieMidBody:
        co_await DieMidBody(stream);
        close_after = true;
        co_return std::nullopt;
      case Mode::kStall: {
        const bool released = co_await WaitForRelease(plan.releases);
        if (!released) {
          close_after = true;
          co_return std::nullopt;
        }
        break;
      }
      case Mode::kSlow: {
        boost::asio::steady_timer timer(io_, plan.delay);
        co_await timer.async_wait(kNoThrow);
        break;
      }
      case Mode::kRaw: {
        auto [ec, n] = co_await boost::asio::async_write(stream.socket(),
                                                         boost::asio::buffer(plan.raw), kNoThrow);
        close_after = plan.raw_close || ec;
        co_return std::nullopt;
      }
      case Mode::kOkThenClose:
        close_after = true;
        break;
      case Mode::kOk:
        break;
    }
    co_return co_await AnswerOk(req);
  }

  Plan Record(const Request& req) {
    Received r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = req.body();
    for (const auto& field : req) {
      r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    std::lock_guard lock(mu_);
    received_.push_back(std::move(r));
    return Plan{mode_, status_, delay_, releases_, raw_, raw_close_};
  }

  // Waits until Release() is called after the request arrived; false on shutdown.
  boost::asio::awaitable<bool> WaitForRelease(std::uint64_t releases_seen) {
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (releases_ != releases_seen) {
          co_return true;
        }
      }
      // Release() posts the cancel, so it runs after this wait started.
      auto [ec] = co_await stall_timer_.async_wait(kNoThrow);
      if (ec != boost::asio::error::operation_aborted) {
        co_return false;
      }
    }
  }

  boost::asio::awaitable<Response> AnswerOk(const Request& req) {
    std::string host_port, next_target;
    {
      std::lock_guard lock(mu_);
      host_port = forward_host_port_;
      next_target = forward_target_;
    }
    if (!host_port.empty()) {
      co_return co_await Forward(req, std::move(host_port), std::move(next_target));
    }
    const std::string_view target = req.target();
    if (target.starts_with("/echo")) {
      const auto type = req.find(boost::beast::http::field::content_type);
      co_return MakeResponse(req, 200, type == req.end() ? "" : type->value(), req.body());
    }
    boost::json::object body;
    body["upstream"] = name_;
    body["method"] = req.method_string();
    body["target"] = target;
    co_return MakeResponse(req, 200, "application/json", boost::json::serialize(body));
  }

  boost::asio::awaitable<Response> Forward(const Request& req, std::string host_port,
                                           std::string next_target) {
    client::HttpRequest call("GET", std::move(next_target));
    for (std::string_view name : kForwardedHeaders) {
      const auto it = req.find(name);
      if (it != req.end()) {
        call.headers.emplace_back(std::string(name), std::string(it->value()));
      }
    }
    const core::Duration timeout = kForwardTimeout;
    core::Result<client::HttpResponse> result = co_await client::FetchOnce(
        io_.get_executor(), std::move(host_port), std::move(call), timeout);
    if (!result) {
      boost::json::object error;
      error["error"] = result.error().reason();
      error["message"] = result.error().message();
      co_return MakeResponse(req, 502, "application/json", boost::json::serialize(error));
    }
    co_return MakeResponse(req, result->status, result->Header("Content-Type"),
                           std::move(result->body));
  }

  Response MakeResponse(const Request& req, int status, std::string_view content_type,
                        std::string body) const {
    Response res(static_cast<boost::beast::http::status>(status), req.version());
    res.set("X-Upstream", name_);
    {
      std::lock_guard lock(mu_);
      for (const auto& [name, value] : response_headers_) {
        res.insert(name, value);
      }
    }
    if (status / 100 == 1 || status == 204 || status == 304) {
      body.clear();  // these carry no body; Beast refuses to frame one
    }
    if (!content_type.empty()) {
      res.set(boost::beast::http::field::content_type, content_type);
    }
    res.body() = std::move(body);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return res;
  }

  boost::asio::awaitable<void> DieMidBody(boost::beast::tcp_stream& stream) {
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Upstream: " + name_ +
                       "\r\nContent-Length: " + std::to_string(kDieMidBodyDeclared) + "\r\n\r\n";
    head.append(kDieMidBodySent, 'x');
    // The connection is closed whether or not the write got through.
    co_await boost::asio::async_write(stream.socket(), boost::asio::buffer(head), kNoThrow);
    boost::system::error_code ignored;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
  }

  static void ResetConnection(boost::beast::tcp_stream& stream) {
    boost::system::error_code ignored;
    stream.socket().set_option(boost::asio::socket_base::linger(true, 0), ignored);
    stream.socket().close(ignored);
  }

  const std::string name_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer stall_timer_;  // never expires; Release() cancels its waits
  unsigned short port_ = 0;

  mutable std::mutex mu_;
  Mode mode_ = Mode::kOk;
  int status_ = 500;
  std::chrono::milliseconds delay_{};
  std::uint64_t releases_ = 0;
  std::string raw_;
  bool raw_close_ = false;
  bool healthy_ = true;
  std::string forward_host_port_;
  std::string forward_target_;
  std::vector<std::pair<std::string, std::string>> response_headers_;
  std::vector<Received> received_;

  std::thread thread_;
};

}  // namespace agentmesh::testing
