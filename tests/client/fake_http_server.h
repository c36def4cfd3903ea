// FakeHttpServer: a tiny Beast HTTP/1.1 server on 127.0.0.1:0 for client tests.
//
// Runs its own io_context on its own thread, records every request, answers with what
// the handler returns (status, body, optional delay, optional silent close after the
// response). Thread-safe accessors; WaitFor blocks until a predicate over the recorded
// requests holds or a deadline passes.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "agentmesh/core/clock.h"

namespace agentmesh::testing {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string body;
  std::string content_type;
  int connection = 0;  // 1-based index of the accepted connection
};

struct FakeReply {
  int status = 200;
  std::string body = "{}";
  core::Duration delay{0};   // wait this long before answering
  bool close_after = false;  // close the socket after answering, without telling the client
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeReply(const RecordedRequest&)>;

  explicit FakeHttpServer(Handler handler = {})
      : handler_(std::move(handler)),
        acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    boost::asio::co_spawn(ioc_, Accept(), boost::asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~FakeHttpServer() {
    ioc_.stop();
    thread_.join();
  }

  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  std::string HostPort() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Url() const { return "http://" + HostPort(); }
  std::string Port() const { return std::to_string(port_); }

  void SetHandler(Handler handler) {
    std::lock_guard lock(mu_);
    handler_ = std::move(handler);
  }

  std::vector<RecordedRequest> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

  int ConnectionsAccepted() const {
    std::lock_guard lock(mu_);
    return connections_;
  }

  // Returns true once `done(requests)` holds; false after `timeout`.
  bool WaitFor(const std::function<bool(const std::vector<RecordedRequest>&)>& done,
               core::Duration timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, core::SystemClock::Instance().Now() + timeout,
                          [&] { return done(requests_); });
  }

 private:
  static constexpr auto kNoThrow = boost::asio::as_tuple(boost::asio::use_awaitable);

  boost::asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) {
        co_return;
      }
      int id = 0;
      {
        std::lock_guard lock(mu_);
        id = ++connections_;
      }
      boost::asio::co_spawn(ioc_, Session(std::move(socket), id), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> Session(boost::asio::ip::tcp::socket socket, int id) {
    namespace http = boost::beast::http;
    boost::beast::tcp_stream stream(std::move(socket));
    boost::beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [read_ec, n] = co_await http::async_read(stream, buffer, req, kNoThrow);
      if (read_ec) {
        co_return;
      }
      RecordedRequest recorded{std::string(req.method_string()), std::string(req.target()),
                               req.body(), std::string(req[http::field::content_type]), id};
      FakeReply reply;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(recorded);
        if (handler_) {
          reply = handler_(recorded);
        }
      }
      cv_.notify_all();
      if (reply.delay > core::Duration::zero()) {
        boost::asio::steady_timer timer(ioc_, reply.delay);
        co_await timer.async_wait(kNoThrow);
      }
      http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
      res.set(http::field::content_type, "application/json");
      res.set("X-Test-Header", "yes");
      res.keep_alive(req.keep_alive());
      res.body() = reply.body;
      res.prepare_payload();
      auto [write_ec, written] = co_await http::async_write(stream, res, kNoThrow);
      if (write_ec || reply.close_after || !req.keep_alive()) {
        boost::beast::error_code ignored;
        stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
        co_return;
      }
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Handler handler_;
  std::vector<RecordedRequest> requests_;
  int connections_ = 0;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
};

}  // namespace agentmesh::testing
