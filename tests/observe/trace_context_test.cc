#include "agentmesh/observe/trace_context.h"

#include <string>
#include <unordered_set>

#include <gtest/gtest.h>

namespace agentmesh::observe {
namespace {

constexpr std::string_view kTraceHex = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kSpanHex = "00f067aa0ba902b7";

std::string Header(std::string_view version, std::string_view trace, std::string_view span,
                   std::string_view flags) {
  return std::string(version) + "-" + std::string(trace) + "-" + std::string(span) + "-" +
         std::string(flags);
}

struct ParseCase {
  std::string header;
  bool valid;
  bool sampled;
};

class TraceparentParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(TraceparentParseTest, AcceptsOnlyWellFormedHeaders) {
  const ParseCase& c = GetParam();
  auto ctx = ParseTraceparent(c.header);
  ASSERT_EQ(ctx.has_value(), c.valid) << c.header;
  if (c.valid) {
    EXPECT_EQ(ctx->trace_id.Hex(), kTraceHex);
    EXPECT_EQ(ctx->parent_id.Hex(), kSpanHex);
    EXPECT_EQ(ctx->sampled, c.sampled);
    EXPECT_TRUE(ctx->tracestate.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    W3cCases, TraceparentParseTest,
    ::testing::Values(
        // Valid: the spec's examples, flags other than sampled ignored, future versions.
        ParseCase{Header("00", kTraceHex, kSpanHex, "01"), true, true},
        ParseCase{Header("00", kTraceHex, kSpanHex, "00"), true, false},
        ParseCase{Header("00", kTraceHex, kSpanHex, "09"), true, true},
        ParseCase{Header("00", kTraceHex, kSpanHex, "fe"), true, false},
        ParseCase{Header("cc", kTraceHex, kSpanHex, "01"), true, true},
        ParseCase{Header("cc", kTraceHex, kSpanHex, "01") + "-what-the-future-will-be-like", true,
                  true},
        // Invalid version: ff, uppercase, non-hex, too short.
        ParseCase{Header("ff", kTraceHex, kSpanHex, "01"), false, false},
        ParseCase{Header("0A", kTraceHex, kSpanHex, "01"), false, false},
        ParseCase{Header("0g", kTraceHex, kSpanHex, "01"), false, false},
        ParseCase{"0-" + std::string(kTraceHex) + "-" + std::string(kSpanHex) + "-01", false,
                  false},
        // Invalid ids: uppercase, all zeros, non-hex, wrong length.
        ParseCase{Header("00", "4BF92F3577B34DA6A3CE929D0E0E4736", kSpanHex, "01"), false, false},
        ParseCase{Header("00", kTraceHex, "00F067AA0BA902B7", "01"), false, false},
        ParseCase{Header("00", std::string(32, '0'), kSpanHex, "01"), false, false},
        ParseCase{Header("00", kTraceHex, std::string(16, '0'), "01"), false, false},
        ParseCase{Header("00", "4bf92f3577b34da6a3ce929d0e0e473z", kSpanHex, "01"), false, false},
        ParseCase{Header("00", "4bf92f3577b34da6a3ce929d0e0e473", kSpanHex, "01"), false, false},
        ParseCase{Header("00", kTraceHex, "00f067aa0ba902b", "01"), false, false},
        // Invalid flags: uppercase, one digit, non-hex.
        ParseCase{Header("00", kTraceHex, kSpanHex, "0A"), false, false},
        ParseCase{Header("00", kTraceHex, kSpanHex, "1"), false, false},
        ParseCase{Header("00", kTraceHex, kSpanHex, "x1"), false, false},
        // Version 00 is exactly 55 characters; a later version needs '-' after the flags.
        ParseCase{Header("00", kTraceHex, kSpanHex, "01") + "-extra", false, false},
        ParseCase{Header("00", kTraceHex, kSpanHex, "01") + " ", false, false},
        ParseCase{Header("cc", kTraceHex, kSpanHex, "01") + "x", false, false},
        // Separators and empties.
        ParseCase{"00_" + std::string(kTraceHex) + "-" + std::string(kSpanHex) + "-01", false,
                  false},
        ParseCase{"00-" + std::string(kTraceHex) + "_" + std::string(kSpanHex) + "-01", false,
                  false},
        ParseCase{"", false, false}, ParseCase{"00", false, false}));

TEST(TraceparentFormatTest, RoundTripsThroughParse) {
  core::Random random(7);
  for (int i = 0; i < 100; ++i) {
    const TraceId trace = NewTraceId(random);
    const SpanId span = NewSpanId(random);
    const bool sampled = i % 2 == 0;
    const std::string header = FormatTraceparent(trace, span, sampled);
    ASSERT_EQ(header.size(), kTraceparentLength);
    auto ctx = ParseTraceparent(header);
    ASSERT_TRUE(ctx.has_value()) << header;
    EXPECT_EQ(ctx->trace_id, trace);
    EXPECT_EQ(ctx->parent_id, span);
    EXPECT_EQ(ctx->sampled, sampled);
  }
}

TEST(TraceparentFormatTest, WritesVersionZeroWithSampledFlag) {
  const TraceId trace = *TraceId::FromHex(kTraceHex);
  const SpanId span = *SpanId::FromHex(kSpanHex);
  EXPECT_EQ(FormatTraceparent(trace, span, true),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(FormatTraceparent(trace, span, false),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
}

TEST(TraceIdTest, HexRoundTripsAndRejectsBadInput) {
  auto id = TraceId::FromHex(kTraceHex);
  ASSERT_TRUE(id.has_value());
  EXPECT_TRUE(id->valid());
  EXPECT_EQ(id->Hex(), kTraceHex);
  EXPECT_EQ(id->bytes[0], 0x4b);
  EXPECT_FALSE(TraceId::FromHex("4BF92F3577B34DA6A3CE929D0E0E4736").has_value());
  EXPECT_FALSE(TraceId::FromHex(kSpanHex).has_value());
  EXPECT_FALSE(SpanId::FromHex(kTraceHex).has_value());
  auto zero = TraceId::FromHex(std::string(32, '0'));
  ASSERT_TRUE(zero.has_value());
  EXPECT_FALSE(zero->valid());
  EXPECT_FALSE(SpanId{}.valid());
}

TEST(TraceIdTest, NewIdsAreValidDistinctAndHashable) {
  core::Random random(42);
  std::unordered_set<TraceId> traces;
  std::unordered_set<SpanId> spans;
  for (int i = 0; i < 1000; ++i) {
    const TraceId t = NewTraceId(random);
    const SpanId s = NewSpanId(random);
    EXPECT_TRUE(t.valid());
    EXPECT_TRUE(s.valid());
    traces.insert(t);
    spans.insert(s);
  }
  EXPECT_EQ(traces.size(), 1000u);
  EXPECT_EQ(spans.size(), 1000u);
}

TEST(TracestateTest, KeepsValidListsTrimmed) {
  EXPECT_EQ(SanitizeTracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(SanitizeTracestate("  rojo=1 ,\tcongo=2  "), "rojo=1 ,\tcongo=2");
  EXPECT_EQ(SanitizeTracestate("a=1,,b=2"), "a=1,,b=2");
  EXPECT_EQ(SanitizeTracestate("fw529a3039@dt=abc,0tenant@sys-1=x y"),
            "fw529a3039@dt=abc,0tenant@sys-1=x y");
  EXPECT_EQ(SanitizeTracestate("k_-*/9=!\"#$%&'()*+-./:;<>?@[]^_`{|}~"),
            "k_-*/9=!\"#$%&'()*+-./:;<>?@[]^_`{|}~");
}

TEST(TracestateTest, DropsInvalidLists) {
  EXPECT_EQ(SanitizeTracestate(""), "");
  EXPECT_EQ(SanitizeTracestate("Rojo=1"), "");               // uppercase key
  EXPECT_EQ(SanitizeTracestate("1abc=1"), "");               // simple key starts with a digit
  EXPECT_EQ(SanitizeTracestate("rojo"), "");                 // no '='
  EXPECT_EQ(SanitizeTracestate("rojo="), "");                // empty value
  EXPECT_EQ(SanitizeTracestate("rojo=a=b"), "");             // '=' in value
  EXPECT_EQ(SanitizeTracestate("rojo=1,rojo=2"), "");        // duplicate key
  EXPECT_EQ(SanitizeTracestate("t@System=1"), "");           // uppercase system id
  EXPECT_EQ(SanitizeTracestate("t@abcdefghijklmno=1"), "");  // system id > 14
  EXPECT_EQ(SanitizeTracestate("rojo=caf\xc3\xa9"), "");     // non-ASCII value
  EXPECT_EQ(SanitizeTracestate(std::string(257, 'k') + "=1"), "");
}

TEST(TracestateTest, EnforcesMemberAndLengthLimits) {
  std::string members;
  for (int i = 0; i < 32; ++i) {
    members += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  }
  EXPECT_EQ(SanitizeTracestate(members), members);
  EXPECT_EQ(SanitizeTracestate(members + ",k32=v"), "");

  // A value is at most 256 characters, so build 512 from two members.
  const std::string two = "a=" + std::string(254, 'v') + ",b=" + std::string(253, 'v');
  ASSERT_EQ(two.size(), kMaxTracestateLength);
  EXPECT_EQ(SanitizeTracestate(two), two);
  EXPECT_EQ(SanitizeTracestate(two + "w"), "");
}

}  // namespace
}  // namespace agentmesh::observe
