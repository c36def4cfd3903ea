// The test upstream the gateway tests stand behind the node: every mode as a client sees
// it, /health, keep-alive, recording, forwarding (two upstreams chained directly) and a
// closed listener.
#include "testing/test_upstream.h"

#include <array>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "agentmesh/client/http_client.h"

#include "integration/node_api.h"

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using client::HttpRequest;
using client::HttpResponse;
using testing::TestUpstream;
using Mode = TestUpstream::Mode;

constexpr auto kTimeout = 10s;

core::Result<HttpResponse> Fetch(const TestUpstream& upstream, HttpRequest req,
                                 core::Duration timeout = kTimeout) {
  return client::FetchBlocking("http://" + upstream.address(), std::move(req), timeout);
}

core::Result<HttpResponse> Get(const TestUpstream& upstream, const std::string& target,
                               core::Duration timeout = kTimeout) {
  HttpRequest req("GET", target);
  return Fetch(upstream, std::move(req), timeout);
}

std::string HeaderOf(const TestUpstream::Received& r, std::string_view name) {
  for (const auto& [key, value] : r.headers) {
    if (boost::beast::iequals(key, name)) {
      return value;
    }
  }
  return "";
}

// Connects a plain Beast client to `upstream`.
boost::beast::tcp_stream Connect(boost::asio::io_context& io, const TestUpstream& upstream) {
  auto host_port = client::SplitHostPort(upstream.address());
  boost::beast::tcp_stream stream(io);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(host_port->first),
                                                std::stoi(host_port->second)));
  stream.expires_after(kTimeout);
  return stream;
}

TEST(TestUpstreamTest, OkAnswersJsonNamingUpstreamMethodAndTarget) {
  TestUpstream upstream("alpha");
  auto r = Get(upstream, "/x?y=1");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"upstream":"alpha","method":"GET","target":"/x?y=1"})");
  EXPECT_EQ(r->Header("Content-Type"), "application/json");
  EXPECT_EQ(r->Header("X-Upstream"), "alpha");
}

TEST(TestUpstreamTest, EchoReturnsTheRequestBodyAndContentType) {
  TestUpstream upstream("alpha");
  HttpRequest req("POST", "/echo/anything", std::string("bytes \x01\x02 here", 13));
  req.headers.emplace_back("Content-Type", "application/octet-stream");
  auto r = Fetch(upstream, req);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, req.body);
  EXPECT_EQ(r->Header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(r->Header("X-Upstream"), "alpha");
}

TEST(TestUpstreamTest, RecordsEveryNonHealthRequestInOrder) {
  TestUpstream upstream("alpha");
  HttpRequest post("POST", "/a?b=c", R"({"k":1})");
  post.headers.emplace_back("X-Agent-ID", "caller");
  ASSERT_TRUE(Fetch(upstream, post));
  ASSERT_TRUE(Get(upstream, "/health"));
  ASSERT_TRUE(Get(upstream, "/second"));

  const auto received = upstream.received();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(upstream.requests(), 2u);
  EXPECT_EQ(received[0].method, "POST");
  EXPECT_EQ(received[0].target, "/a?b=c");
  EXPECT_EQ(received[0].body, R"({"k":1})");
  EXPECT_EQ(HeaderOf(received[0], "x-agent-id"), "caller");
  EXPECT_EQ(received[1].method, "GET");
  EXPECT_EQ(received[1].target, "/second");
}

TEST(TestUpstreamTest, FailAnswersTheConfiguredStatus) {
  TestUpstream upstream("alpha");
  upstream.SetMode(Mode::kFail);
  auto r = Get(upstream, "/x");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->Header("X-Upstream"), "alpha");

  upstream.SetMode(Mode::kFail, 503);
  r = Get(upstream, "/x");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 503);

  upstream.SetMode(Mode::kOk);
  r = Get(upstream, "/x");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
}

TEST(TestUpstreamTest, StallHoldsRequestsUntilRelease) {
  TestUpstream upstream("alpha");
  upstream.SetMode(Mode::kStall);
  auto timed_out = Get(upstream, "/first", 300ms);
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().code(), core::StatusCode::kDeadlineExceeded);

  auto pending = std::async(std::launch::async, [&] { return Get(upstream, "/second"); });
  ASSERT_TRUE(testing::WaitFor([&] { return upstream.requests() == 2; }, 5s));
  EXPECT_EQ(pending.wait_for(200ms), std::future_status::timeout);
  upstream.Release();
  auto r = pending.get();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find(R"("target":"/second")"), std::string::npos) << r->body;

  auto after = Get(upstream, "/third");  // Release switched the mode back to kOk
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(after->status, 200);
}

TEST(TestUpstreamTest, DestructionClosesStalledRequests) {
  auto upstream = std::make_unique<TestUpstream>("alpha");
  upstream->SetMode(Mode::kStall);
  auto pending = std::async(std::launch::async, [&] { return Get(*upstream, "/x"); });
  ASSERT_TRUE(testing::WaitFor([&] { return upstream->requests() == 1; }, 5s));
  upstream.reset();
  auto r = pending.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), core::StatusCode::kUnavailable) << r.error().message();
}

TEST(TestUpstreamTest, SlowAnswersOkAfterTheDelay) {
  TestUpstream upstream("alpha");
  upstream.SetMode(Mode::kSlow, 500, 600ms);
  auto early = Get(upstream, "/x", 100ms);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code(), core::StatusCode::kDeadlineExceeded);
  auto r = Get(upstream, "/x");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("X-Upstream"), "alpha");
}

TEST(TestUpstreamTest, DieMidBodySendsPartOfTheDeclaredBodyThenCloses) {
  TestUpstream upstream("alpha");
  upstream.SetMode(Mode::kDieMidBody);
  auto r = Get(upstream, "/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), core::StatusCode::kUnavailable) << r.error().message();

  namespace http = boost::beast::http;
  boost::asio::io_context io;
  auto stream = Connect(io, upstream);
  http::request<http::empty_body> req(http::verb::get, "/x", 11);
  http::write(stream, req);
  std::string raw;
  boost::system::error_code ec;
  std::array<char, 4096> chunk;
  while (!ec) {
    const std::size_t n = stream.read_some(boost::asio::buffer(chunk), ec);
    raw.append(chunk.data(), n);
  }
  EXPECT_EQ(ec, boost::asio::error::eof);
  const std::size_t head_end = raw.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << raw;
  EXPECT_NE(raw.find("Content-Length: 100000"), std::string::npos);
  EXPECT_NE(raw.find("X-Upstream: alpha"), std::string::npos);
  EXPECT_EQ(raw.size() - head_end - 4, 1000u);
}

TEST(TestUpstreamTest, ResetClosesWithoutAnswering) {
  TestUpstream upstream("alpha");
  upstream.SetMode(Mode::kReset);
  auto r = Get(upstream, "/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(r.error().reason(), "connection_closed") << r.error().message();
  EXPECT_EQ(upstream.requests(), 1u);
}

TEST(TestUpstreamTest, HealthFollowsSetHealthyAndIgnoresModes) {
  TestUpstream upstream("alpha");
  upstream.SetMode(Mode::kFail);
  auto r = Get(upstream, "/health");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);

  upstream.SetMode(Mode::kStall);
  upstream.SetHealthy(false);
  r = Get(upstream, "/health");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 503);

  upstream.SetHealthy(true);
  r = Get(upstream, "/health");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(upstream.requests(), 0u);
}

TEST(TestUpstreamTest, KeepsTheConnectionAliveAcrossRequests) {
  namespace http = boost::beast::http;
  TestUpstream upstream("alpha");
  boost::asio::io_context io;
  auto stream = Connect(io, upstream);
  boost::beast::flat_buffer buffer;
  for (const char* target : {"/one", "/two", "/health", "/three"}) {
    http::request<http::empty_body> req(http::verb::get, target, 11);
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    EXPECT_EQ(res.result_int(), 200u) << target;
    EXPECT_TRUE(res.keep_alive()) << target;
  }
  EXPECT_EQ(upstream.requests(), 3u);
}

TEST(TestUpstreamTest, ForwardCallsTheNextHopWithTraceAndBudgetHeaders) {
  TestUpstream first("first");
  TestUpstream second("second");
  first.SetForward(second.address(), "/next?hop=2");

  HttpRequest req("POST", "/start", R"({"ignored":true})");
  req.headers = {{"X-Correlation-ID", "corr-1"},
                 {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                 {"tracestate", "vendor=value"},
                 {"X-Agentmesh-Deadline-Ms", "1700000000000"},
                 {"X-Agentmesh-Call-Depth", "2"},
                 {"X-Not-Forwarded", "secret"}};
  auto r = Fetch(first, req);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"upstream":"second","method":"GET","target":"/next?hop=2"})");
  EXPECT_EQ(r->Header("Content-Type"), "application/json");
  EXPECT_EQ(r->Header("X-Upstream"), "first");

  ASSERT_EQ(second.requests(), 1u);
  const auto hop = second.received()[0];
  EXPECT_EQ(hop.method, "GET");
  EXPECT_EQ(hop.body, "");
  for (std::size_t i = 0; i + 1 < req.headers.size(); ++i) {
    EXPECT_EQ(HeaderOf(hop, req.headers[i].first), req.headers[i].second) << req.headers[i].first;
  }
  EXPECT_EQ(HeaderOf(hop, "X-Not-Forwarded"), "");
}

TEST(TestUpstreamTest, ForwardReturnsTheNextHopsStatusAndHealthIsNotForwarded) {
  TestUpstream first("first");
  TestUpstream second("second");
  second.SetMode(Mode::kFail, 503);
  first.SetForward(second.address(), "/next");
  auto r = Get(first, "/start");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, R"({"error":"injected_failure"})");

  r = Get(first, "/health");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(second.requests(), 1u);

  first.SetForward("", "");
  r = Get(first, "/x");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_NE(r->body.find(R"("upstream":"first")"), std::string::npos) << r->body;
}

TEST(TestUpstreamTest, ForwardToAClosedPortAnswers502) {
  TestUpstream first("first");
  TestUpstream second("second");
  second.StopListening();
  first.SetForward(second.address(), "/next");
  auto r = Get(first, "/start");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 502);
  const auto body = boost::json::parse(r->body);
  EXPECT_EQ(body.at("error").as_string(), "connect_failed") << r->body;
}

TEST(TestUpstreamTest, StopListeningRefusesNewConnections) {
  TestUpstream upstream("alpha");
  ASSERT_TRUE(Get(upstream, "/x"));
  upstream.StopListening();
  auto r = Get(upstream, "/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(r.error().reason(), "connect_failed") << r.error().message();
}

}  // namespace
}  // namespace agentmesh
