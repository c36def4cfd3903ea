#include "agentmesh/observe/trace_sampler.h"

#include <cmath>

#include <gtest/gtest.h>

namespace agentmesh::observe {
namespace {

using namespace std::chrono_literals;

TraceId IdWithLowerWord(std::uint64_t word) {
  TraceId id;
  id.bytes[0] = 0xab;  // upper bytes do not take part in the decision
  for (int i = 15; i >= 8; --i) {
    id.bytes[i] = static_cast<std::uint8_t>(word & 0xff);
    word >>= 8;
  }
  return id;
}

TraceContext Parent(bool sampled) {
  TraceContext ctx;
  ctx.trace_id = IdWithLowerWord(1);
  ctx.parent_id.bytes[7] = 1;
  ctx.sampled = sampled;
  return ctx;
}

TEST(TraceSamplerTest, DefaultsFollowTheRules) {
  const TraceSamplingOptions options;
  EXPECT_DOUBLE_EQ(options.sampling_rate, 0.1);
  EXPECT_EQ(options.slow_threshold, 5s);
  EXPECT_TRUE(options.always_sample_errors);
  EXPECT_TRUE(Validate(options).ok());
}

TEST(TraceSamplerTest, ValidateRejectsRateOutsideUnitIntervalAndNonPositiveThreshold) {
  EXPECT_EQ(Validate({.sampling_rate = -0.1}).reason(), "invalid_sampling_rate");
  EXPECT_EQ(Validate({.sampling_rate = 1.5}).reason(), "invalid_sampling_rate");
  EXPECT_EQ(Validate({.sampling_rate = std::nan("")}).reason(), "invalid_sampling_rate");
  EXPECT_EQ(Validate({.slow_threshold = 0s}).reason(), "invalid_slow_threshold");
  EXPECT_TRUE(Validate({.sampling_rate = 0.0}).ok());
  EXPECT_TRUE(Validate({.sampling_rate = 1.0}).ok());
}

TEST(TraceSamplerTest, NewTraceDecisionComparesLowerEightBytesWithRate) {
  const TraceSampler sampler({.sampling_rate = 0.5});
  const std::uint64_t half = 1ull << 63;
  EXPECT_TRUE(sampler.SampleHead(std::nullopt, IdWithLowerWord(0)));
  EXPECT_TRUE(sampler.SampleHead(std::nullopt, IdWithLowerWord(half - 1)));
  EXPECT_FALSE(sampler.SampleHead(std::nullopt, IdWithLowerWord(half)));
  EXPECT_FALSE(sampler.SampleHead(std::nullopt, IdWithLowerWord(~0ull)));
}

TEST(TraceSamplerTest, RateZeroSamplesNothingAndRateOneEverything) {
  const TraceSampler none({.sampling_rate = 0.0});
  const TraceSampler all({.sampling_rate = 1.0});
  for (std::uint64_t word : {0ull, 1ull, 1ull << 63, ~0ull}) {
    EXPECT_FALSE(none.SampleHead(std::nullopt, IdWithLowerWord(word)));
    EXPECT_TRUE(all.SampleHead(std::nullopt, IdWithLowerWord(word)));
  }
}

TEST(TraceSamplerTest, DecisionIsDeterministicPerTraceId) {
  const TraceSampler a(TraceSamplingOptions{});
  const TraceSampler b(TraceSamplingOptions{});
  core::Random random(1234);
  for (int i = 0; i < 1000; ++i) {
    const TraceId id = NewTraceId(random);
    const bool first = a.SampleHead(std::nullopt, id);
    EXPECT_EQ(a.SampleHead(std::nullopt, id), first);
    EXPECT_EQ(b.SampleHead(std::nullopt, id), first);
  }
}

TEST(TraceSamplerTest, SamplesAboutTenPercentOfRandomTraces) {
  const TraceSampler sampler(TraceSamplingOptions{});
  core::Random random(20240601);
  constexpr int kTraces = 100'000;
  int sampled = 0;
  for (int i = 0; i < kTraces; ++i) {
    sampled += sampler.SampleHead(std::nullopt, NewTraceId(random)) ? 1 : 0;
  }
  const double ratio = static_cast<double>(sampled) / kTraces;
  EXPECT_NEAR(ratio, 0.10, 0.01) << "seed " << random.seed();
}

TEST(TraceSamplerTest, HonoursParentFlagBothWays) {
  const TraceSampler never({.sampling_rate = 0.0});
  const TraceSampler always({.sampling_rate = 1.0});
  const TraceId id = IdWithLowerWord(0);
  EXPECT_TRUE(never.SampleHead(Parent(true), id));
  EXPECT_FALSE(always.SampleHead(Parent(false), id));
  EXPECT_FALSE(always.SampleHead(Parent(false), IdWithLowerWord(~0ull)));
}

TEST(TraceSamplerTest, KeepsSampledErrorsSlowAndCriticalSpans) {
  const TraceSampler sampler(TraceSamplingOptions{});
  EXPECT_TRUE(sampler.Keep(true, false, 1ms, false));
  EXPECT_FALSE(sampler.Keep(false, false, 1ms, false));
  EXPECT_TRUE(sampler.Keep(false, true, 1ms, false));
  EXPECT_TRUE(sampler.Keep(false, false, 5s + 1ns, false));
  EXPECT_FALSE(sampler.Keep(false, false, 5s, false));
  EXPECT_TRUE(sampler.Keep(false, false, 1ms, true));
}

TEST(TraceSamplerTest, ErrorsAreNotForcedWhenAlwaysSampleErrorsIsOff) {
  const TraceSampler sampler({.always_sample_errors = false});
  EXPECT_FALSE(sampler.Keep(false, true, 1ms, false));
  EXPECT_TRUE(sampler.Keep(true, true, 1ms, false));
}

}  // namespace
}  // namespace agentmesh::observe
