#include "agentmesh/server/json_codec.h"

#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace agentmesh::server {
namespace {

struct BadSpec {
  std::string id;
  std::string body;
  std::string code;
  std::string field;  // details.field, "" when none
};

class ParseInstanceSpecRejectsTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(ParseInstanceSpecRejectsTest, WithSpecificCode) {
  const BadSpec& c = GetParam();
  auto spec = ParseInstanceSpec(c.id, c.body);
  ASSERT_FALSE(spec.has_value()) << c.body;
  EXPECT_EQ(spec.error().status.reason(), c.code) << c.body;
  EXPECT_EQ(spec.error().status.code(), core::StatusCode::kInvalidArgument);
  if (!c.field.empty()) {
    ASSERT_TRUE(spec.error().details.contains("field")) << c.body;
    EXPECT_EQ(spec.error().details.at("field").as_string(), c.field) << c.body;
  }
}

std::string Caps(int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    out += (i ? ",\"c" : "\"c") + std::to_string(i) + "\"";
  }
  return out + "]";
}

std::string Meta(int n) {
  std::string out = "{";
  for (int i = 0; i < n; ++i) {
    out += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
  }
  return out + "}";
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseInstanceSpecRejectsTest,
    ::testing::Values(
        BadSpec{"a", "", "missing_body", ""}, BadSpec{"a", "{", "malformed_json", ""},
        BadSpec{"a", "[1]", "malformed_json", ""}, BadSpec{"a", "null", "malformed_json", ""},
        BadSpec{"-bad", R"({"agent":"x","phase":1})", "invalid_id", "id"},
        BadSpec{"a b", R"({"agent":"x","phase":1})", "invalid_id", "id"},
        BadSpec{std::string(129, 'a'), R"({"agent":"x","phase":1})", "invalid_id", "id"},
        BadSpec{"a", R"({"phase":1})", "missing_field", "agent"},
        BadSpec{"a", R"({"agent":"x"})", "missing_field", "phase"},
        BadSpec{"a", R"({"agent":5,"phase":1})", "invalid_field", "agent"},
        BadSpec{"a", R"({"agent":"x y","phase":1})", "invalid_agent", "agent"},
        BadSpec{"a", R"({"agent":"x","phase":"1"})", "invalid_field", "phase"},
        BadSpec{"a", R"({"agent":"x","phase":1.5})", "invalid_field", "phase"},
        BadSpec{"a", R"({"agent":"x","phase":0})", "phase_out_of_range", "phase"},
        BadSpec{"a", R"({"agent":"x","phase":4})", "phase_out_of_range", "phase"},
        BadSpec{"a", R"({"agent":"x","phase":-1})", "phase_out_of_range", "phase"},
        BadSpec{"a", R"({"agent":"x","phase":18446744073709551615})", "invalid_field", "phase"},
        BadSpec{"a", R"({"agent":"x","phase":1,"weight":0})", "weight_out_of_range", "weight"},
        BadSpec{"a", R"({"agent":"x","phase":1,"weight":10001})", "weight_out_of_range", "weight"},
        BadSpec{"a", R"({"agent":"x","phase":1,"weight":true})", "invalid_field", "weight"},
        BadSpec{"a", R"({"agent":"x","phase":1,"domain":""})", "invalid_domain", "domain"},
        BadSpec{"a", R"({"agent":"x","phase":1,"capabilities":"c"})", "invalid_field",
                "capabilities"},
        BadSpec{"a", R"({"agent":"x","phase":1,"capabilities":[1]})", "invalid_field",
                "capability"},
        BadSpec{"a", R"({"agent":"x","phase":1,"capabilities":["a b"]})", "invalid_capability",
                "capability"},
        BadSpec{"a", R"({"agent":"x","phase":1,"capabilities":)" + Caps(65) + "}",
                "too_many_capabilities", "capabilities"},
        BadSpec{"a", R"({"agent":"x","phase":1,"metadata":[]})", "invalid_field", "metadata"},
        BadSpec{"a", R"({"agent":"x","phase":1,"metadata":{"k":1}})", "invalid_field", "metadata"},
        BadSpec{"a", R"({"agent":"x","phase":1,"metadata":)" + Meta(65) + "}", "too_many_metadata",
                "metadata"},
        BadSpec{"a",
                R"({"agent":"x","phase":1,"metadata":{"k":")" + std::string(1025, 'v') + "\"}}",
                "field_too_long", "metadata"},
        BadSpec{"a", R"({"agent":"x","phase":1,"address":"nohost"})", "invalid_address", "address"},
        BadSpec{"a", R"({"agent":"x","phase":1,"address":"h:0"})", "invalid_address", "address"},
        BadSpec{"a", R"({"agent":"x","phase":1,"address":"h:65536"})", "invalid_address",
                "address"},
        BadSpec{"a", R"({"agent":"x","phase":1,"address":"a b:80"})", "invalid_address", "address"},
        BadSpec{"a", R"({"agent":"x","phase":1,"address":7})", "invalid_field", "address"},
        BadSpec{"a", R"({"agent":"x","phase":1,"extra":1})", "unknown_field", "extra"}));

TEST(ParseInstanceSpecTest, AcceptsFullBodyAndSortsCapabilities) {
  auto spec =
      ParseInstanceSpec("orch-1",
                        R"({"agent":"ai-agent-orchestrator","phase":2,"domain":"orchestration",
          "capabilities":["planning","coordination","planning"],"address":"[::1]:8080",
          "weight":250,"metadata":{"zone":"a"}})");
  ASSERT_TRUE(spec.has_value()) << spec.error().status.ToString();
  EXPECT_EQ(spec->id, "orch-1");
  EXPECT_EQ(spec->agent, "ai-agent-orchestrator");
  EXPECT_EQ(spec->phase, 2);
  EXPECT_EQ(spec->domain, "orchestration");
  EXPECT_EQ(spec->capabilities, (std::vector<std::string>{"coordination", "planning"}));
  EXPECT_EQ(spec->address, "[::1]:8080");
  EXPECT_EQ(spec->weight, 250);
  EXPECT_EQ(spec->metadata.at("zone"), "a");
}

TEST(ParseInstanceSpecTest, DefaultsWeightTo100) {
  auto spec = ParseInstanceSpec("a", R"({"agent":"x","phase":3})");
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->weight, 100);
  EXPECT_TRUE(spec->address.empty());
}

TEST(ParseLoadSampleTest, EmptyBodyIsZeroSample) {
  auto s = ParseLoadSample("");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->cpu, 0);
}

TEST(ParseLoadSampleTest, ParsesNumbers) {
  auto s = ParseLoadSample(R"({"cpu":0.25,"memory":1,"queue_depth":7})");
  ASSERT_TRUE(s.has_value());
  EXPECT_DOUBLE_EQ(s->cpu, 0.25);
  EXPECT_DOUBLE_EQ(s->memory, 1);
  EXPECT_DOUBLE_EQ(s->queue_depth, 7);
}

TEST(ParseLoadSampleTest, RejectsBadSamples) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"cpu":1.5})", "value_out_of_range"},
      {R"({"memory":-0.1})", "value_out_of_range"},
      {R"({"queue_depth":-1})", "value_out_of_range"},
      {R"({"cpu":"high"})", "invalid_field"},
      {R"({"cpu":null})", "invalid_field"},
      {R"({"gpu":0.1})", "unknown_field"},
      {R"({"cpu":0.1)", "malformed_json"},
      {"[]", "malformed_json"},
  };
  for (const auto& [body, code] : cases) {
    auto s = ParseLoadSample(body);
    ASSERT_FALSE(s.has_value()) << body;
    EXPECT_EQ(s.error().status.reason(), code) << body;
  }
}

TEST(ParseObservationTest, RequiresObserverAndBool) {
  auto ok = ParseObservation(R"({"observer":"peer-1","healthy":false})");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->observer, "peer-1");
  EXPECT_FALSE(ok->healthy);
  EXPECT_EQ(ParseObservation(R"({"healthy":true})").error().status.reason(), "missing_field");
  EXPECT_EQ(ParseObservation(R"({"observer":"p","healthy":1})").error().status.reason(),
            "invalid_field");
  EXPECT_EQ(ParseObservation(R"({"observer":"p q","healthy":true})").error().status.reason(),
            "invalid_observer");
  EXPECT_EQ(ParseObservation("").error().status.reason(), "missing_body");
}

TEST(ParseListFilterTest, ParsesAndValidatesQuery) {
  auto f = ParseListFilter("phase=2&status=suspect&capability=plan%2Dning&agent=x");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->phase, 2);
  EXPECT_EQ(f->state, health::HealthState::kSuspect);
  EXPECT_EQ(f->capability, "plan-ning");
  EXPECT_EQ(f->agent, "x");
  EXPECT_EQ(ParseListFilter("phase=abc").error().status.reason(), "invalid_field");
  EXPECT_EQ(ParseListFilter("phase=4").error().status.reason(), "phase_out_of_range");
  EXPECT_EQ(ParseListFilter("status=dead").error().status.reason(), "invalid_status");
  EXPECT_EQ(ParseListFilter("color=red").error().status.reason(), "unknown_parameter");
  EXPECT_EQ(ParseListFilter("domain=%zz").error().status.reason(), "malformed_query");
  EXPECT_EQ(ParseListFilter("domain=a%2").error().status.reason(), "malformed_query");
  EXPECT_TRUE(ParseListFilter("").has_value());
}

TEST(CheckJsonContentTypeTest, AcceptsJsonOrAbsent) {
  EXPECT_TRUE(CheckJsonContentType("application/json", "{}").has_value());
  EXPECT_TRUE(CheckJsonContentType("Application/JSON; charset=utf-8", "{}").has_value());
  EXPECT_TRUE(CheckJsonContentType("", "{}").has_value());
  EXPECT_TRUE(CheckJsonContentType("text/plain", "").has_value());
  EXPECT_EQ(CheckJsonContentType("text/plain", "{}").error().status.reason(),
            "unsupported_media_type");
}

TEST(FormatTimestampTest, FormatsUtcWithMillis) {
  const core::WallTime t{std::chrono::milliseconds(1'800'000'000'123)};
  EXPECT_EQ(FormatTimestamp(t), "2027-01-15T08:00:00.123Z");
}

TEST(SummaryToJsonTest, CountsPerPhaseAndVerdict) {
  health::HealthSummary s;
  s.counts[0][static_cast<int>(health::HealthState::kUnhealthy)] = 1;
  s.counts[1][static_cast<int>(health::HealthState::kHealthy)] = 3;
  s.critical = true;
  s.reasons.push_back("phase 1 agent unhealthy");
  auto j = SummaryToJson(s, "node-a");
  EXPECT_EQ(j.at("status").as_string(), "critical");
  EXPECT_EQ(j.at("node_id").as_string(), "node-a");
  EXPECT_EQ(j.at("phases").at("1").at("unhealthy").as_int64(), 1);
  EXPECT_EQ(j.at("phases").at("1").at("total").as_int64(), 1);
  EXPECT_EQ(j.at("phases").at("2").at("healthy").as_int64(), 3);
  EXPECT_EQ(j.at("reasons").as_array().size(), 1u);
}

}  // namespace
}  // namespace agentmesh::server
