#include "agentmesh/core/duration.h"

#include <chrono>
#include <limits>

#include <gtest/gtest.h>

namespace agentmesh::core {
namespace {

using namespace std::chrono_literals;

Duration Parse(std::string_view text) {
  Result<Duration> d = ParseDuration(text);
  EXPECT_TRUE(d.has_value()) << text << ": " << (d ? "" : d.error().ToString());
  return d.value_or(Duration::zero());
}

TEST(ParseDurationTest, ParsesEveryUnit) {
  EXPECT_EQ(Parse("7ns"), 7ns);
  EXPECT_EQ(Parse("7us"), 7us);
  EXPECT_EQ(Parse("250ms"), 250ms);
  EXPECT_EQ(Parse("30s"), 30s);
  EXPECT_EQ(Parse("10m"), 10min);
  EXPECT_EQ(Parse("2h"), 2h);
}

TEST(ParseDurationTest, ParsesCompoundsAndFractions) {
  EXPECT_EQ(Parse("1m30s"), 90s);
  EXPECT_EQ(Parse("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
  EXPECT_EQ(Parse("1.5s"), 1500ms);
  EXPECT_EQ(Parse(".5s"), 500ms);
  EXPECT_EQ(Parse("0.1s"), 100ms);
  EXPECT_EQ(Parse("1.000000001s"), 1'000'000'001ns);
  EXPECT_EQ(Parse("0"), Duration::zero());
  EXPECT_EQ(Parse("0s"), Duration::zero());
}

TEST(ParseDurationTest, RejectsMalformedText) {
  for (const char* text : {"", "s", "10", "1.2.3s", ".s", "5x", "5 s", " 5s", "5s ", "-5s", "+5s",
                           "1s5", "1e3s", "0.0", "ms5"}) {
    Result<Duration> d = ParseDuration(text);
    ASSERT_FALSE(d.has_value()) << "'" << text << "'";
    EXPECT_EQ(d.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(d.error().reason(), "invalid_duration");
  }
}

TEST(ParseDurationTest, RejectsOverflow) {
  EXPECT_FALSE(ParseDuration("9223372037s").has_value());
  EXPECT_FALSE(ParseDuration("3000000h").has_value());
  EXPECT_FALSE(ParseDuration("99999999999999999999999ns").has_value());
  // Within rounding distance of the largest value: must not wrap to a negative.
  Result<Duration> edge = ParseDuration("9223372036854775807.9ns");
  if (edge.has_value()) {
    EXPECT_GE(edge->count(), 0);
  }
  EXPECT_EQ(Parse("9223372036854775807ns").count(), std::numeric_limits<long long>::max());
}

TEST(FormatDurationTest, UsesLargestExactUnit) {
  EXPECT_EQ(FormatDuration(Duration::zero()), "0s");
  EXPECT_EQ(FormatDuration(30s), "30s");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(1h), "1h");
  EXPECT_EQ(FormatDuration(1h + 1s), "1h1s");
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(1500ms), "1500ms");
  EXPECT_EQ(FormatDuration(7us), "7us");
  EXPECT_EQ(FormatDuration(7ns), "7ns");
  EXPECT_EQ(FormatDuration(-90s), "-1m30s");
}

TEST(FormatDurationTest, HandlesExtremes) {
  EXPECT_EQ(FormatDuration(Duration::max()), "9223372036854775807ns");
  EXPECT_EQ(FormatDuration(Duration::min()), "-9223372036854775808ns");
  EXPECT_EQ(FormatDuration(std::chrono::duration_cast<Duration>(std::chrono::hours(2562047))),
            "2562047h");
}

TEST(FormatDurationTest, RoundTripsThroughParse) {
  for (Duration d : {Duration(1), Duration(999), Duration(1001), Duration(123456789),
                     Duration(1500ms), Duration(59s), Duration(61s), Duration(3599s), Duration(25h),
                     Duration(1h + 1ms), Duration::max()}) {
    EXPECT_EQ(Parse(FormatDuration(d)), d) << FormatDuration(d);
  }
}

}  // namespace
}  // namespace agentmesh::core
