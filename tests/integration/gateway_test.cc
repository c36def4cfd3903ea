// The gateway of the real binary in front of real test upstreams: routing and header
// handling, the per-instance circuit breaker, retries, per-caller rate limits and the
// gateway metrics. Chains, budgets, tracing and wire failures are in gateway_chain_test.cc.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "agentmesh/client/http_client.h"

#include "integration/gateway_fixture.h"

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using client::HttpRequest;
using client::HttpResponse;
using testing::CallJson;
using testing::Str;
using testing::TestUpstream;
using testing::WaitFor;
using Mode = TestUpstream::Mode;
using testing::ErrorCode;
using testing::HeaderOf;
namespace json = boost::json;

// Test policy: health checks out of the way, a short breaker recovery and quick retries;
// `overrides` ("section.key" -> YAML value) replace or add keys.
std::string Policy(std::map<std::string, std::string> overrides = {}) {
  std::map<std::string, std::string> keys = {
      {"health.check_interval", "1h"},
      {"circuit_breaker.recovery_timeout", "500ms"},
      {"traffic.retry_base_delay", "10ms"},
      {"traffic.retry_max_delay", "50ms"},
  };
  for (auto& [key, value] : overrides) {
    keys[key] = std::move(value);
  }
  std::map<std::string, std::string> sections;
  for (const auto& [key, value] : keys) {
    const std::size_t dot = key.find('.');
    sections[key.substr(0, dot)] += "  " + key.substr(dot + 1) + ": " + value + "\n";
  }
  std::string yaml;
  for (const auto& [section, body] : sections) {
    yaml += section + ":\n" + body;
  }
  return yaml;
}

bool HasHeader(const TestUpstream::Received& r, std::string_view name) {
  return testing::FindHeader(r, name).has_value();
}

class GatewayTest : public testing::GatewayFixture {
 protected:
  // The state of the breaker of `instance` in GET /v1/circuits, or "".
  std::string CircuitState(const std::string& instance) {
    const auto r = CallJson(base_, "GET", "/v1/circuits");
    if (r.status != 200 || !r.body.is_object() || !r.body.as_object().contains("circuits")) {
      return "";
    }
    for (const auto& c : r.body.at("circuits").as_array()) {
      if (Str(c, "instance") == instance) {
        return Str(c, "state");
      }
    }
    return "";
  }
};

TEST_F(GatewayTest, RoutesByAgentCapabilityAndInstancePassingRequestsThrough) {
  Start(Policy());
  upstreams_.push_back(std::make_unique<TestUpstream>("alpha"));
  TestUpstream& up = *upstreams_.back();
  Register("alpha-1", "alpha", up.address(), {"summarize"});

  auto r = Call("POST", "/agents/alpha/x?q=1", R"({"k":1})",
                {{"X-Custom", "v1"},
                 {"Connection", "keep-alive, X-Hop"},
                 {"X-Hop", "secret"},
                 {"Keep-Alive", "timeout=5"},
                 {"TE", "trailers"},
                 {"X-Correlation-ID", "corr-given-1"}});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->Header("X-Upstream"), "alpha");
  EXPECT_EQ(r->Header("Content-Type"), "application/json");
  EXPECT_EQ(r->Header("X-Correlation-ID"), "corr-given-1");
  const json::value answer = json::parse(r->body);
  EXPECT_EQ(Str(answer, "target"), "/x?q=1");
  EXPECT_EQ(Str(answer, "method"), "POST");
  ASSERT_EQ(up.requests(), 1u);
  const TestUpstream::Received got = up.received()[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/x?q=1");
  EXPECT_EQ(got.body, R"({"k":1})");
  EXPECT_EQ(HeaderOf(got, "X-Custom"), "v1");
  EXPECT_EQ(HeaderOf(got, "Content-Type"), "application/json");
  EXPECT_EQ(HeaderOf(got, "X-Correlation-ID"), "corr-given-1");
  EXPECT_FALSE(HasHeader(got, "X-Hop"));
  EXPECT_FALSE(HasHeader(got, "Keep-Alive"));
  EXPECT_FALSE(HasHeader(got, "TE"));
  EXPECT_EQ(HeaderOf(got, "Connection").find("X-Hop"), std::string::npos);

  // Without a correlation id the gateway makes one, sends it upstream and echoes it.
  r = Call("GET", "/agents/alpha/y");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  const std::string generated(r->Header("X-Correlation-ID"));
  EXPECT_FALSE(generated.empty());
  ASSERT_EQ(up.requests(), 2u);
  EXPECT_EQ(HeaderOf(up.received()[1], "X-Correlation-ID"), generated);
  EXPECT_EQ(up.received()[1].method, "GET");

  r = Call("GET", "/api/v1/summarize/z");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
  r = Call("DELETE", "/agents/alpha-1/w");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(up.requests(), 4u);
  EXPECT_EQ(up.received()[2].target, "/z");
  EXPECT_EQ(up.received()[3].target, "/w");
  EXPECT_EQ(up.received()[3].method, "DELETE");
}

TEST_F(GatewayTest, ResponsesComeBackWithoutHopByHopOrGatewaySetFields) {
  Start(Policy());
  upstreams_.push_back(std::make_unique<TestUpstream>("alpha"));
  TestUpstream& up = *upstreams_.back();
  Register("alpha-1", "alpha", up.address());
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Kept", "one"},
      {"X-Hop-Back", "secret"},
      {"Keep-Alive", "timeout=5"},
      {"X-Kept", "two"},
      {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
      {"X-Correlation-ID", "made-upstream"}};
  // First a plain head, which the gateway reads itself, with X-Hop-Back an ordinary field;
  // then one whose Connection field names X-Hop-Back, which Beast reads.
  up.SetResponseHeaders(headers);
  auto plain = Call("GET", "/agents/alpha/x");
  ASSERT_TRUE(plain) << plain.error().ToString();
  EXPECT_EQ(plain->Header("X-Hop-Back"), "secret");
  EXPECT_EQ(plain->Header("Keep-Alive"), "");
  EXPECT_EQ(plain->Header("traceparent"), "");
  EXPECT_NE(plain->Header("X-Correlation-ID"), "made-upstream");
  auto with_connection = headers;
  with_connection.insert(with_connection.begin() + 1, {"Connection", "X-Hop-Back"});
  up.SetResponseHeaders(with_connection);

  for (int i = 0; i < 2; ++i) {  // the second answer comes over the pooled connection
    auto r = Call("GET", "/agents/alpha/x", "", {{"X-Correlation-ID", "corr-given-2"}});
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->Header("X-Upstream"), "alpha");
    EXPECT_EQ(r->Header("Content-Type"), "application/json");
    std::vector<std::string> kept, correlation;
    for (const auto& [name, value] : r->headers) {
      EXPECT_FALSE(boost::beast::iequals(name, "X-Hop-Back")) << name;
      EXPECT_FALSE(boost::beast::iequals(name, "Keep-Alive")) << name;
      EXPECT_FALSE(boost::beast::iequals(name, "traceparent")) << name;
      if (boost::beast::iequals(name, "X-Kept")) {
        kept.push_back(value);
      }
      if (boost::beast::iequals(name, "X-Correlation-ID")) {
        correlation.push_back(value);
      }
    }
    EXPECT_EQ(kept, (std::vector<std::string>{"one", "two"})) << "repeated fields keep their order";
    EXPECT_EQ(correlation, std::vector<std::string>{"corr-given-2"});
    EXPECT_EQ(r->Header("Connection").find("X-Hop-Back"), std::string::npos);
  }
  EXPECT_EQ(up.requests(), 3u);
}

// Upstream heads of every framing: the gateway reads plain ones itself and leaves the
// others to Beast; both must come back the same way.
TEST_F(GatewayTest, UpstreamAnswersOfEveryFramingComeBackAsSent) {
  Start(Policy());
  TestUpstream& up = Upstream("alpha");
  struct Case {
    std::string what, raw;
    bool close_after;
    int status;
    std::string body, x_a;
  };
  const Case cases[] = {
      {"plain, odd spacing",
       "HTTP/1.1 201 Created\r\nX-A:  spaced \t\r\nContent-Length: 5\r\n\r\nhello", false, 201,
       "hello", "spaced"},
      {"plain, empty reason", "HTTP/1.1 202 \r\nContent-Length: 2\r\nX-A: r\r\n\r\nok", false, 202,
       "ok", "r"},
      {"chunked",
       "HTTP/1.1 200 OK\r\nX-A: c\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
       false, 200, "hello world", "c"},
      {"close-delimited", "HTTP/1.1 200 OK\r\nX-A: d\r\n\r\nuntil the close", true, 200,
       "until the close", "d"},
      {"HTTP/1.0", "HTTP/1.0 200 OK\r\nX-A: e\r\nContent-Length: 3\r\n\r\nold", true, 200, "old",
       "e"},
      {"status without a body", "HTTP/1.1 204 No Content\r\nX-A: f\r\n\r\n", false, 204, "", "f"},
  };
  for (const Case& c : cases) {
    up.SetRawAnswer(c.raw, c.close_after);
    for (int i = 0; i < 2; ++i) {  // the second time over the pooled connection, if kept
      auto r = Call("GET", "/agents/alpha/x");
      ASSERT_TRUE(r) << c.what << ": " << r.error().ToString();
      EXPECT_EQ(r->status, c.status) << c.what << ": " << r->body;
      EXPECT_EQ(r->body, c.body) << c.what;
      EXPECT_EQ(r->Header("X-A"), c.x_a) << c.what;
      EXPECT_FALSE(r->Header("X-Correlation-ID").empty()) << c.what;
    }
  }
  // A HEAD answer has no body, whatever its Content-Length says; the connection stays good.
  up.SetRawAnswer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: h\r\n\r\n", false);
  for (int i = 0; i < 2; ++i) {
    auto r = Call("HEAD", "/agents/alpha/x");
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "");
    EXPECT_EQ(r->Header("Content-Length"), "5");
    EXPECT_EQ(r->Header("X-A"), "h");
  }
  // A head neither reader accepts is the upstream's failure.
  up.SetRawAnswer("HTTP/1.1 200 OK\r\nX A: 1\r\nContent-Length: 0\r\n\r\n", false);
  auto bad = Call("GET", "/agents/alpha/x");
  ASSERT_TRUE(bad) << bad.error().ToString();
  EXPECT_EQ(bad->status, 502) << bad->body;
  EXPECT_EQ(ErrorCode(*bad), "upstream_failed") << bad->body;
}

TEST_F(GatewayTest, EveryConnectionFieldOfARequestNamesFieldsThatStayBehind) {
  Start(Policy());
  TestUpstream& up = Upstream("alpha");
  // Raw, because the test client keeps one field per name.
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  const std::size_t colon = host_port_.rfind(':');
  socket.connect({asio::ip::make_address(host_port_.substr(0, colon)),
                  static_cast<unsigned short>(std::stoi(host_port_.substr(colon + 1)))});
  asio::write(socket, asio::buffer(std::string("GET /agents/alpha/x HTTP/1.1\r\nHost: gw\r\n"
                                               "Connection: X-Hop1\r\n"
                                               "Connection: X-Hop2, close\r\n"
                                               "X-Hop1: a\r\nX-Hop2: b\r\nX-Kept: c\r\n\r\n")));
  std::string reply;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(reply), ec);  // to the close the request asked for
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 ")) << reply;
  ASSERT_EQ(up.requests(), 1u);
  const TestUpstream::Received got = up.received()[0];
  EXPECT_FALSE(HasHeader(got, "X-Hop1"));
  EXPECT_FALSE(HasHeader(got, "X-Hop2")) << "named by the second Connection field";
  EXPECT_EQ(HeaderOf(got, "X-Kept"), "c");
}

TEST_F(GatewayTest, PooledConnectionTheUpstreamClosedIsReplacedWithoutFailingTheCall) {
  Start(Policy());
  TestUpstream& up = Upstream("alpha");
  up.SetMode(TestUpstream::Mode::kOkThenClose);
  // Each answer leaves a pooled connection that the upstream closes at once; the next
  // call takes it (idle for well under the probe age), finds it closed when it sends,
  // and goes out again on a fresh connection: with a POST too, as nothing reached the
  // upstream. The call must neither fail nor wait for a timeout.
  for (int i = 0; i < 6; ++i) {
    const std::string method = i % 2 == 0 ? "GET" : "POST";
    auto r = Call(method, "/agents/alpha/n" + std::to_string(i), i % 2 == 0 ? "" : R"({"n":1})");
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->status, 200) << i << " " << r->body;
    const json::value answer = json::parse(r->body);
    EXPECT_EQ(Str(answer, "target"), "/n" + std::to_string(i)) << "answered by the upstream";
  }
  EXPECT_EQ(up.requests(), 6u);
}

TEST_F(GatewayTest, UnknownAgentIs404AndUnroutableInstancesAre503) {
  Start(Policy());
  auto r = Call("GET", "/agents/nobody/x");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(ErrorCode(*r), "unknown_agent") << r->body;
  EXPECT_FALSE(r->Header("X-Correlation-ID").empty());

  Register("ghost-1", "ghost", "");
  r = Call("GET", "/agents/ghost/x");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(ErrorCode(*r), "no_healthy_instance") << r->body;

  // A peer reports the only instance down: it turns suspect and gets no calls.
  TestUpstream& beta = Upstream("beta");
  Register("observer-1", "observer", "");
  const auto o = CallJson(base_, "POST", "/v1/agents/beta-1/observations",
                          json::object{{"observer", "observer-1"}, {"healthy", false}});
  ASSERT_EQ(o.status, 200) << o.raw;
  ASSERT_NE(Str(o.body, "status"), "healthy") << o.raw;
  r = Call("GET", "/agents/beta/x");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(ErrorCode(*r), "no_healthy_instance") << r->body;
  EXPECT_EQ(beta.requests(), 0u);
}

TEST_F(GatewayTest, BreakerOpensAfterFiveFailuresFailsFastAndHalfOpens) {
  // The checks of an open circuit must all fall within one recovery timeout of real time:
  // 2 s rather than the 500 ms of the other tests, so that a stalled test host cannot
  // let the circuit half-open between them.
  Start(Policy({{"circuit_breaker.recovery_timeout", "2s"}}));
  TestUpstream& up = Upstream("brk");
  up.SetMode(Mode::kFail, 500);
  for (int i = 0; i < 5; ++i) {
    const auto r = Call("POST", "/agents/brk/work", "{}");
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->status, 500) << "call " << i << ": " << r->body;
  }
  EXPECT_EQ(up.requests(), 5u);

  auto r = Call("POST", "/agents/brk/work", "{}");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(ErrorCode(*r), "circuit_open") << r->body;
  EXPECT_EQ(up.requests(), 5u) << "an open circuit must fail fast";
  EXPECT_EQ(CircuitState("brk-1"), "open");

  // After the recovery timeout one probe goes through; it fails, so the circuit reopens.
  ASSERT_TRUE(WaitFor([&] { return CircuitState("brk-1") == "half_open"; }, 5s))
      << CircuitState("brk-1");
  r = Call("POST", "/agents/brk/work", "{}");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(up.requests(), 6u);
  EXPECT_EQ(CircuitState("brk-1"), "open");
  r = Call("POST", "/agents/brk/work", "{}");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(ErrorCode(*r), "circuit_open") << r->body;
  EXPECT_EQ(up.requests(), 6u);

  // The upstream recovers: the next probe succeeds and closes the circuit.
  up.SetMode(Mode::kOk);
  ASSERT_TRUE(WaitFor([&] { return CircuitState("brk-1") == "half_open"; }, 5s));
  r = Call("POST", "/agents/brk/work", "{}");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(up.requests(), 7u);
  EXPECT_EQ(CircuitState("brk-1"), "closed");
  r = Call("POST", "/agents/brk/work", "{}");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(GatewayTest, RetriedGetReachesTheHealthyInstance) {
  Start(Policy());
  upstreams_.push_back(std::make_unique<TestUpstream>("bad"));
  TestUpstream& bad = *upstreams_.back();
  upstreams_.push_back(std::make_unique<TestUpstream>("good"));
  TestUpstream& good = *upstreams_.back();
  bad.SetMode(Mode::kFail, 503);
  Register("mixed-1", "mixed", bad.address());
  Register("mixed-2", "mixed", good.address());
  for (int i = 0; i < 4; ++i) {
    const auto r = Call("GET", "/agents/mixed/read");
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->status, 200) << "call " << i << ": " << r->body;
    EXPECT_EQ(r->Header("X-Upstream"), "good");
  }
  EXPECT_GE(bad.requests(), 1u) << "round robin never tried the failing instance first";
  EXPECT_EQ(good.requests(), 4u);
}

TEST_F(GatewayTest, RetriesOnlyListedStatusesIdempotentCallsAndAtMostThreeAttempts) {
  Start(Policy({{"traffic.retry_on", "[500, 502, 503]"}, {"traffic.retry_attempts", "3"}}));
  TestUpstream& missing = Upstream("missing");
  missing.SetMode(Mode::kFail, 404);
  auto r = Call("GET", "/agents/missing/x");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(missing.requests(), 1u) << "404 is not in retry_on";

  TestUpstream& flaky = Upstream("flaky");
  flaky.SetMode(Mode::kFail, 503);
  r = Call("GET", "/agents/flaky/x");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(flaky.requests(), 3u) << "retry_attempts counts every attempt";

  TestUpstream& dropper = Upstream("dropper");
  dropper.SetMode(Mode::kReset);
  r = Call("GET", "/agents/dropper/x");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(ErrorCode(*r), "upstream_failed") << r->body;
  EXPECT_EQ(dropper.requests(), 3u) << "connection failures are retried too";

  TestUpstream& writer = Upstream("writer");
  writer.SetMode(Mode::kFail, 503);
  r = Call("POST", "/agents/writer/x", "{}");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(writer.requests(), 1u) << "a POST without Idempotency-Key is not retried";
  r = Call("POST", "/agents/writer/x", "{}", {{"Idempotency-Key", "op-42"}});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(writer.requests(), 4u) << "a POST with Idempotency-Key is retried";
  for (const auto& got : writer.received()) {
    EXPECT_EQ(got.body, "{}");
  }
}

TEST_F(GatewayTest, RateLimitAnswers429WithRetryAfterPerCaller) {
  Start(Policy({{"traffic.rate_limit_requests", "5"}, {"traffic.rate_limit_window", "1m"}}));
  TestUpstream& up = Upstream("limited");
  for (int i = 0; i < 5; ++i) {
    const auto r = Call("GET", "/agents/limited/x", "", {{"X-Agent-ID", "a"}});
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->status, 200) << "call " << i << ": " << r->body;
  }
  auto r = Call("GET", "/agents/limited/x", "", {{"X-Agent-ID", "a"}});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(ErrorCode(*r), "rate_limited") << r->body;
  const std::string retry_after(r->Header("Retry-After"));
  ASSERT_FALSE(retry_after.empty());
  ASSERT_EQ(retry_after.find_first_not_of("0123456789"), std::string::npos) << retry_after;
  EXPECT_GT(std::stoi(retry_after), 0);
  EXPECT_LE(std::stoi(retry_after), 60);
  EXPECT_EQ(up.requests(), 5u);

  r = Call("GET", "/agents/limited/x", "", {{"X-Agent-ID", "b"}});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 200) << "caller b has its own limit";
}

TEST_F(GatewayTest, MetricsCountGatewayRequestsAndRejections) {
  Start(Policy());
  Upstream("counted");
  auto r = Call("GET", "/agents/counted/x");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  r = Call("GET", "/agents/uncounted/x");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 404);

  r = Call("GET", "/metrics");
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("agentmesh_gateway_requests_total{"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("agentmesh_gateway_rejections_total{"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("unknown_agent"), std::string::npos);
}

}  // namespace
}  // namespace agentmesh
