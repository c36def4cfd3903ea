// The gateway of the real binary with test upstreams that call onwards through it: call
// depth and deadline budgets, timeouts, one trace over a 3-hop chain, an upstream dying
// mid-body and a request body streamed past the buffer limit.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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
using testing::Int;
using testing::Str;
using testing::TestUpstream;
using testing::WaitFor;
using Mode = TestUpstream::Mode;
using testing::ErrorCode;
using testing::HeaderOf;
using SteadyClock = std::chrono::steady_clock;
namespace json = boost::json;

// Test policy: health checks out of the way; `extra` is appended (whole sections).
std::string Policy(const std::string& extra = "") {
  return "health:\n  check_interval: 1h\ncircuit_breaker:\n  recovery_timeout: 500ms\n" + extra;
}

// Every span of a GET /v1/traces/{id} tree, flattened.
std::vector<json::object> FlattenSpans(const json::value& tree) {
  std::vector<json::object> out;
  std::function<void(const json::value&)> walk = [&](const json::value& spans) {
    if (!spans.is_array()) {
      return;
    }
    for (const auto& s : spans.as_array()) {
      json::object copy = s.as_object();
      const json::value children = copy.contains("children") ? copy["children"] : json::value();
      copy.erase("children");
      out.push_back(std::move(copy));
      walk(children);
    }
  };
  if (tree.is_object() && tree.as_object().contains("spans")) {
    walk(tree.at("spans"));
  }
  return out;
}

class GatewayChainTest : public testing::GatewayFixture {};

TEST_F(GatewayChainTest, SixAgentChainStopsWithCallDepthExceeded) {
  Start(Policy());
  std::vector<TestUpstream*> hops;
  for (int i = 1; i <= 6; ++i) {
    hops.push_back(&Upstream("hop" + std::to_string(i)));
  }
  for (int i = 1; i < 6; ++i) {
    hops[i - 1]->SetForward(host_port_, "/agents/hop" + std::to_string(i + 1) + "/next");
  }
  const auto r = Call("GET", "/agents/hop1/start");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 508) << r->body;
  EXPECT_EQ(ErrorCode(*r), "call_depth_exceeded") << r->body;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(hops[i]->requests(), 1u) << "hop" << i + 1;
  }
  EXPECT_EQ(hops[5]->requests(), 0u) << "the 6th gateway call must be refused";
  // Each hop sees its depth, and a deadline 5 s (the child margin) shorter than its caller's.
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(hops[i]->requests(), 1u);
    const TestUpstream::Received got = hops[i]->received()[0];
    EXPECT_EQ(HeaderOf(got, "X-Agentmesh-Call-Depth"), std::to_string(i + 1));
    const long long budget_ms = 30000 - 5000 * i;
    const std::string deadline = HeaderOf(got, "X-Agentmesh-Deadline-Ms");
    ASSERT_FALSE(deadline.empty()) << "hop" << i + 1;
    EXPECT_LE(std::stoll(deadline), budget_ms) << "hop" << i + 1;
    EXPECT_GT(std::stoll(deadline), budget_ms - 3000) << "hop" << i + 1;
  }
}

TEST_F(GatewayChainTest, ExhaustedDeadlineIs504WithoutCallingUpstream) {
  Start(Policy("isolation:\n  child_timeout_margin: 5s\n"));
  TestUpstream& up = Upstream("late");
  const auto r = Call("GET", "/agents/late/x", "", {{"X-Agentmesh-Deadline-Ms", "4000"}});
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 504);
  EXPECT_EQ(ErrorCode(*r), "deadline_exceeded") << r->body;
  EXPECT_EQ(up.requests(), 0u);
}

TEST_F(GatewayChainTest, StalledUpstreamTimesOutWithinRequestTimeout) {
  Start(Policy("traffic:\n  request_timeout: 300ms\n  connect_timeout: 200ms\n"));
  TestUpstream& up = Upstream("stuck");
  up.SetMode(Mode::kStall);
  const auto start = SteadyClock::now();
  const auto r = Call("GET", "/agents/stuck/x");
  const auto took = SteadyClock::now() - start;
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 504);
  EXPECT_EQ(ErrorCode(*r), "upstream_timeout") << r->body;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(up.requests(), 1u) << "a timeout is not retried";
}

TEST_F(GatewayChainTest, ThreeHopChainIsOneTraceWithLinkedSpans) {
  Start(Policy("tracing:\n  sampling_rate: 1.0\n"));
  TestUpstream& a = Upstream("ta");
  TestUpstream& b = Upstream("tb");
  Upstream("tc");
  a.SetForward(host_port_, "/agents/tb/next");
  b.SetForward(host_port_, "/agents/tc/end");
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string root_span = "00f067aa0ba902b7";
  const auto r = Call("GET", "/agents/ta/start", "",
                      {{"traceparent", "00-" + trace_id + "-" + root_span + "-01"}});
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->status, 200) << r->body;

  testing::JsonReply trace;
  ASSERT_TRUE(WaitFor(
      [&] {
        trace = CallJson(base_, "GET", "/v1/traces/" + trace_id);
        return trace.status == 200 && Int(trace.body, "span_count") >= 3;
      },
      5s))
      << trace.raw;
  EXPECT_EQ(Str(trace.body, "trace_id"), trace_id);
  const std::vector<json::object> spans = FlattenSpans(trace.body);
  ASSERT_EQ(spans.size(), 3u) << trace.raw;
  std::string parent = root_span;
  for (const std::string agent : {"ta", "tb", "tc"}) {
    const json::object* child = nullptr;
    for (const auto& s : spans) {
      if (Str(s, "parent_id") == parent) {
        child = &s;
      }
    }
    ASSERT_NE(child, nullptr) << "no span whose parent is " << parent << ": " << trace.raw;
    EXPECT_EQ(Str(child->at("attributes"), "agent.name"), agent) << trace.raw;
    parent = Str(*child, "span_id");
  }
}

TEST_F(GatewayChainTest, UpstreamDyingMidBodyDoesNotCrashOrHangTheNode) {
  Start(Policy());
  TestUpstream& dier = Upstream("dier");
  dier.SetMode(Mode::kDieMidBody);
  const auto start = SteadyClock::now();
  const auto r = Call("GET", "/agents/dier/x", "", {}, 10s);
  EXPECT_LT(SteadyClock::now() - start, 5s);
  if (r) {
    EXPECT_TRUE(r->status != 200 || r->body.size() < 100000) << r->status;
  }

  const auto health = CallJson(base_, "GET", "/health");
  EXPECT_EQ(health.status, 200) << health.raw;
  dier.SetMode(Mode::kOk);
  auto again = Call("GET", "/agents/dier/y");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->status, 200) << again->body;
  Upstream("steady");
  again = Call("GET", "/agents/steady/y");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->status, 200) << again->body;
}

TEST_F(GatewayChainTest, UpstreamDyingMidBufferedBodyIs502) {
  // 100000 declared bytes fit the buffer limit: the gateway reads the whole body first.
  Start(Policy("traffic:\n  buffer_limit: 256KiB\n"));
  TestUpstream& dier = Upstream("dier");
  dier.SetMode(Mode::kDieMidBody);
  const auto start = SteadyClock::now();
  const auto r = Call("GET", "/agents/dier/x");
  EXPECT_LT(SteadyClock::now() - start, 5s);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(ErrorCode(*r), "upstream_failed") << r->body;
  // The header arrived, the body did not: that is a failure for the instance's breaker.
  const auto circuits = CallJson(base_, "GET", "/v1/circuits");
  ASSERT_EQ(circuits.status, 200);
  const auto& c = circuits.body.at("circuits").as_array().at(0);
  EXPECT_EQ(c.at("instance").as_string(), "dier-1");
  EXPECT_EQ(c.at("failures").as_int64(), 1);
  EXPECT_EQ(c.at("consecutive_failures").as_int64(), 1);
  dier.SetMode(Mode::kOk);
  const auto again = Call("GET", "/agents/dier/y");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->status, 200) << again->body;
}

TEST_F(GatewayChainTest, BodyLargerThanBufferLimitStreamsByteIdentical) {
  Start(Policy("traffic:\n  buffer_limit: 16KiB\n"));
  TestUpstream& up = Upstream("echoer");
  std::string body(1024 * 1024, '\0');
  std::uint32_t x = 2463534242u;
  for (char& c : body) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  const auto r = Call("POST", "/agents/echoer/echo", body,
                      {{"Content-Type", "application/octet-stream"}}, 20s);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 200) << r->body.substr(0, 300);
  EXPECT_EQ(r->body.size(), body.size());
  EXPECT_TRUE(r->body == body) << "the echoed body differs";
  ASSERT_EQ(up.requests(), 1u);
  EXPECT_TRUE(up.received()[0].body == body) << "the upstream got a different body";
}

}  // namespace
}  // namespace agentmesh
