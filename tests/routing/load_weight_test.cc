#include "agentmesh/routing/load_weight.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace agentmesh::routing {
namespace {

TEST(LoadWeightTest, DefaultsMatchRules) {
  LoadWeightOptions options;
  EXPECT_DOUBLE_EQ(options.cpu_weight, 0.4);
  EXPECT_DOUBLE_EQ(options.memory_weight, 0.3);
  EXPECT_DOUBLE_EQ(options.queue_weight, 0.3);
  EXPECT_TRUE(Validate(options).ok());
}

TEST(LoadWeightTest, ValidateRejectsWeightsNotSummingToOne) {
  LoadWeightOptions options;
  options.cpu_weight = 0.5;
  const core::Status status = Validate(options);
  EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.reason(), "invalid_load_weight_options");
}

TEST(LoadWeightTest, ValidateRejectsNegativeWeight) {
  LoadWeightOptions options;
  options.cpu_weight = 1.1;
  options.memory_weight = -0.4;
  EXPECT_EQ(Validate(options).code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(Validate(options).message().find("memory_weight"), std::string::npos);
}

TEST(LoadWeightTest, ValidateRejectsBadSaturationAndMinFraction) {
  LoadWeightOptions options;
  options.queue_saturation = 0;
  EXPECT_FALSE(Validate(options).ok());
  options = LoadWeightOptions();
  options.min_fraction = 1.5;
  EXPECT_FALSE(Validate(options).ok());
  options.min_fraction = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(Validate(options).ok());
}

TEST(LoadWeightTest, IdleInstanceKeepsFullWeight) {
  EXPECT_DOUBLE_EQ(EffectiveWeight(LoadWeightOptions(), 10, 0, 0, 0), 10);
}

TEST(LoadWeightTest, LoadReducesWeightByRuleShares) {
  const LoadWeightOptions options;
  // load = 0.4 * 0.5 + 0.3 * 0.2 + 0.3 * (50 / 100) = 0.2 + 0.06 + 0.15 = 0.41
  EXPECT_NEAR(EffectiveWeight(options, 100, 0.5, 0.2, 50), 59, 1e-9);
  // CPU counts more than memory.
  EXPECT_LT(EffectiveWeight(options, 1, 0.5, 0, 0), EffectiveWeight(options, 1, 0, 0.5, 0));
}

TEST(LoadWeightTest, SaturatedInstanceKeepsMinFraction) {
  const LoadWeightOptions options;
  EXPECT_DOUBLE_EQ(EffectiveWeight(options, 20, 1, 1, 100), 20 * 0.05);
  // Queue beyond saturation counts as saturated, not more.
  EXPECT_DOUBLE_EQ(EffectiveWeight(options, 20, 1, 1, 10'000), 20 * 0.05);
  EXPECT_DOUBLE_EQ(EffectiveWeight(options, 1, 0, 0, 400), 0.7);
}

TEST(LoadWeightTest, OutOfRangeInputsAreClamped) {
  const LoadWeightOptions options;
  EXPECT_DOUBLE_EQ(EffectiveWeight(options, 1, 2.0, -1.0, -5), 0.6);
  EXPECT_DOUBLE_EQ(EffectiveWeight(options, 1, std::nan(""), 0, 0), 1.0);
  EXPECT_DOUBLE_EQ(EffectiveWeight(options, -3, 0, 0, 0), 0.0);
}

}  // namespace
}  // namespace agentmesh::routing
