#include "agentmesh/client/http_client.h"

#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "client/fake_http_server.h"

namespace agentmesh::client {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpServer;
using testing::FakeReply;
using testing::RecordedRequest;

// Runs `n` requests one after another on one HttpConnection and returns the results.
std::vector<core::Result<HttpResponse>> SendOnOneConnection(const FakeHttpServer& server,
                                                            std::vector<HttpRequest> requests,
                                                            core::Duration timeout = 2s) {
  boost::asio::io_context ioc;
  std::vector<core::Result<HttpResponse>> results;
  HttpConnection connection(ioc.get_executor(), "127.0.0.1", server.Port());
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        for (auto& req : requests) {
          results.push_back(co_await connection.Send(std::move(req), timeout));
        }
      },
      boost::asio::detached);
  ioc.run();
  return results;
}

TEST(HttpConnectionTest, ReusesOneKeepAliveConnectionForConsecutiveRequests) {
  FakeHttpServer server([](const RecordedRequest& r) { return FakeReply{200, r.target}; });

  auto results = SendOnOneConnection(server, {{"GET", "/a"}, {"PUT", "/b", "{}"}, {"GET", "/c"}});

  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(results[1]->body, "/b");
  EXPECT_EQ(server.ConnectionsAccepted(), 1);
  EXPECT_EQ(server.Requests().size(), 3u);
}

TEST(HttpConnectionTest, ReconnectsAfterServerClosedIdleConnection) {
  FakeHttpServer server([](const RecordedRequest& r) {
    return FakeReply{200, r.target, 0s, /*close_after=*/r.target == "/first"};
  });

  auto results = SendOnOneConnection(server, {{"GET", "/first"}, {"GET", "/second"}});

  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[1].has_value()) << results[1].error().ToString();
  EXPECT_EQ(results[1]->body, "/second");
  EXPECT_EQ(server.ConnectionsAccepted(), 2);
}

TEST(HttpConnectionTest, SlowServerYieldsDeadlineExceeded) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeReply{200, "{}", 10s}; });

  auto results = SendOnOneConnection(server, {{"GET", "/slow"}}, 100ms);

  ASSERT_EQ(results.size(), 1u);
  ASSERT_FALSE(results[0].has_value());
  EXPECT_EQ(results[0].error().code(), core::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(results[0].error().reason(), "timeout");
}

TEST(HttpConnectionTest, ConnectionIsUsableAgainAfterTimeout) {
  FakeHttpServer server([](const RecordedRequest& r) {
    return FakeReply{200, "{}", r.target == "/slow" ? 10s : 0s};
  });

  auto results = SendOnOneConnection(server, {{"GET", "/slow"}, {"GET", "/fast"}}, 200ms);

  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].has_value());
  ASSERT_TRUE(results[1].has_value()) << results[1].error().ToString();
  EXPECT_EQ(results[1]->status, 200);
}

TEST(HttpConnectionTest, CloseAbortsAPendingSend) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeReply{200, "{}", 10s}; });
  boost::asio::io_context ioc;
  HttpConnection connection(ioc.get_executor(), "127.0.0.1", server.Port());
  std::optional<core::Result<HttpResponse>> result;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        HttpRequest req("GET", "/slow");
        result = co_await connection.Send(std::move(req), 5s);
      },
      boost::asio::detached);
  // Closes once the request has reached the server, on the connection's own thread.
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        boost::asio::steady_timer poll(ioc);
        while (server.Requests().empty()) {
          poll.expires_after(1ms);
          co_await poll.async_wait(boost::asio::use_awaitable);
        }
        connection.Close();
      },
      boost::asio::detached);
  ioc.run();

  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(result->has_value());
  EXPECT_EQ(result->error().code(), core::StatusCode::kUnavailable);
}

TEST(HttpConnectionTest, ClosedPortYieldsUnavailableConnectFailed) {
  std::string port;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = std::to_string(acceptor.local_endpoint().port());
  }

  auto result = FetchBlocking("http://127.0.0.1:" + port, {"GET", "/health"}, 1s);

  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(result.error().reason(), "connect_failed");
}

TEST(FetchBlockingTest, SendsBodyWithJsonContentTypeAndReturnsHeaders) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeReply{201, "{\"ok\":true}"}; });

  auto result = FetchBlocking(server.Url(), {"PUT", "/v1/agents/a-1", "{\"agent\":\"a\"}"}, 2s);

  ASSERT_TRUE(result.has_value()) << result.error().ToString();
  EXPECT_EQ(result->status, 201);
  EXPECT_EQ(result->body, "{\"ok\":true}");
  EXPECT_EQ(result->Header("x-test-header"), "yes");
  EXPECT_EQ(result->Header("Missing"), "");
  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].target, "/v1/agents/a-1");
  EXPECT_EQ(requests[0].body, "{\"agent\":\"a\"}");
  EXPECT_EQ(requests[0].content_type, "application/json");
}

TEST(FetchBlockingTest, PathInBaseUrlPrefixesTarget) {
  FakeHttpServer server;

  auto result = FetchBlocking(server.Url() + "/mesh/", {"GET", "/health"}, 2s);

  ASSERT_TRUE(result.has_value()) << result.error().ToString();
  EXPECT_EQ(server.Requests().at(0).target, "/mesh/health");
}

TEST(FetchBlockingTest, MalformedUrlYieldsInvalidUrl) {
  for (std::string_view url : {"127.0.0.1:7700", "https://127.0.0.1:7700", "http://", "::"}) {
    auto result = FetchBlocking(url, {}, 1s);
    ASSERT_FALSE(result.has_value()) << url;
    EXPECT_EQ(result.error().reason(), "invalid_url") << url;
  }
}

TEST(FetchOnceTest, UsesAFreshConnectionPerRequest) {
  FakeHttpServer server;
  boost::asio::io_context ioc;
  std::vector<core::Result<HttpResponse>> results;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        for (int i = 0; i < 2; ++i) {
          results.push_back(
              co_await FetchOnce(ioc.get_executor(), server.HostPort(), {"GET", "/health"}, 2s));
        }
      },
      boost::asio::detached);
  ioc.run();

  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].has_value());
  EXPECT_TRUE(results[1].has_value());
  EXPECT_EQ(server.ConnectionsAccepted(), 2);
}

TEST(SplitHostPortTest, AcceptsHostPortAndBracketedIpv6) {
  auto v4 = SplitHostPort("127.0.0.1:7700");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->first, "127.0.0.1");
  EXPECT_EQ(v4->second, "7700");
  auto v6 = SplitHostPort("[::1]:80");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->first, "::1");
  for (std::string_view bad : {"", "host", ":80", "host:", "host:http", "host:70000", "[:80"}) {
    EXPECT_FALSE(SplitHostPort(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace agentmesh::client
