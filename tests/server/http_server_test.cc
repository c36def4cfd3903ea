#include "agentmesh/server/http_server.h"

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <gtest/gtest.h>

#include "agentmesh/observe/metrics.h"
#include "agentmesh/server/router.h"

#include "testing/manual_clock.h"
#include <poll.h>

namespace agentmesh::server {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

constexpr auto kIdleTimeout = std::chrono::seconds(1);
// Upper bound on real time for the server to act; the sweep runs every 250 ms here.
constexpr int kSafetyWaitMs = 10'000;
constexpr std::string_view kPing = "GET /ping HTTP/1.1\r\nHost: test\r\n\r\n";

// A server on 127.0.0.1:0 with one connection thread, on a ManualClock: connections
// reach their idle deadline only when the test advances the clock.
class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    router_.Add(Method::kGet, "/ping", [](const Request&) { return Response{200, "{}"}; });
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.idle_timeout = kIdleTimeout;
    options.io_threads = 1;
    server_.emplace(options, ioc_, router_, clock_, metrics_);
    EXPECT_TRUE(server_->Start().ok());
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~HttpServerTest() override {
    server_->Stop();
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  tcp::socket Connect() {
    tcp::socket socket(client_ioc_);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    return socket;
  }

  // Whether the server closed `socket` (EOF or reset) within kSafetyWaitMs.
  static bool ClosedByServer(tcp::socket& socket) {
    pollfd pfd{socket.native_handle(), POLLIN, 0};
    if (::poll(&pfd, 1, kSafetyWaitMs) != 1) {
      return false;
    }
    char byte;
    boost::system::error_code ec;
    socket.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  static int Ping(tcp::socket& socket, boost::beast::flat_buffer& buffer) {
    asio::write(socket, asio::buffer(kPing));
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response.result_int();
  }

  testing::ManualClock clock_;
  observe::Registry metrics_;
  Router router_;
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(ioc_);
  std::optional<HttpServer> server_;
  std::thread thread_;
  asio::io_context client_ioc_;
};

TEST(HttpServerOptionsTest, RejectsNonPositiveTimeouts) {
  HttpServerOptions options;
  options.idle_timeout = std::chrono::seconds(0);
  EXPECT_FALSE(Validate(options).ok());
  options = HttpServerOptions{};
  options.write_timeout = std::chrono::seconds(-1);
  EXPECT_FALSE(Validate(options).ok());
}

TEST_F(HttpServerTest, KeepAliveConnectionIsClosedAfterIdleTimeout) {
  tcp::socket socket = Connect();
  boost::beast::flat_buffer buffer;
  EXPECT_EQ(Ping(socket, buffer), 200);
  clock_.Advance(kIdleTimeout - std::chrono::milliseconds(1));
  EXPECT_EQ(Ping(socket, buffer), 200);  // the second request restarted the idle period
  clock_.Advance(kIdleTimeout);
  EXPECT_TRUE(ClosedByServer(socket));
  EXPECT_EQ(buffer.size(), 0u);
}

TEST_F(HttpServerTest, ConnectionStalledInHeaderIsClosedAfterIdleTimeout) {
  tcp::socket socket = Connect();
  boost::beast::flat_buffer buffer;
  EXPECT_EQ(Ping(socket, buffer), 200);  // the connection is served: its idle period started
  asio::write(socket, asio::buffer(std::string_view("GET /ping HTTP/1.1\r\nHo")));
  clock_.Advance(kIdleTimeout);
  EXPECT_TRUE(ClosedByServer(socket));
}

}  // namespace
}  // namespace agentmesh::server
