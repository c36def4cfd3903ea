#include "agentmesh/routing/smooth_weighted_round_robin.h"

#include <array>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace agentmesh::routing {
namespace {

std::string Sequence(SmoothWeightedRoundRobin& wrr, int picks) {
  std::string out;
  for (int i = 0; i < picks; ++i) {
    const int pick = wrr.Pick();
    out.push_back(pick < 0 ? '-' : static_cast<char>('a' + pick));
  }
  return out;
}

TEST(SmoothWeightedRoundRobinTest, FollowsNginxSequenceWithoutBursts) {
  SmoothWeightedRoundRobin wrr;
  const std::vector<double> weights = {5, 1, 1};
  wrr.SetWeights(weights);
  EXPECT_EQ(wrr.size(), 3u);
  EXPECT_EQ(Sequence(wrr, 14), "aabacaaaabacaa");
}

TEST(SmoothWeightedRoundRobinTest, EqualWeightsRotate) {
  SmoothWeightedRoundRobin wrr;
  const std::vector<double> weights = {1, 1, 1};
  wrr.SetWeights(weights);
  EXPECT_EQ(Sequence(wrr, 6), "abcabc");
}

TEST(SmoothWeightedRoundRobinTest, SharesMatchWeightsOverTenThousandPicks) {
  SmoothWeightedRoundRobin wrr;
  const std::vector<double> weights = {0.62, 0.31, 0.05, 2.0, 1.0};
  wrr.SetWeights(weights);
  double total = 0;
  for (double w : weights) {
    total += w;
  }
  std::array<int, 5> counts{};
  constexpr int kPicks = 10'000;
  for (int i = 0; i < kPicks; ++i) {
    ++counts.at(wrr.Pick());
  }
  for (std::size_t i = 0; i < weights.size(); ++i) {
    EXPECT_NEAR(static_cast<double>(counts[i]) / kPicks, weights[i] / total, 0.01) << i;
  }
}

TEST(SmoothWeightedRoundRobinTest, SkipsIneligibleAndKeepsOthersProportions) {
  SmoothWeightedRoundRobin wrr;
  const std::vector<double> weights = {3, 5, 1};
  wrr.SetWeights(weights);
  std::array<int, 3> counts{};
  constexpr int kPicks = 10'000;
  for (int i = 0; i < kPicks; ++i) {
    const int pick = wrr.Pick([](int index) { return index != 1; });
    ASSERT_NE(pick, 1);
    ++counts.at(pick);
  }
  EXPECT_NEAR(static_cast<double>(counts[0]) / kPicks, 0.75, 0.01);
  EXPECT_NEAR(static_cast<double>(counts[2]) / kPicks, 0.25, 0.01);
}

TEST(SmoothWeightedRoundRobinTest, ReturnsMinusOneWhenNoneEligible) {
  SmoothWeightedRoundRobin wrr;
  EXPECT_EQ(wrr.Pick(), -1);
  const std::vector<double> weights = {1, 2};
  wrr.SetWeights(weights);
  EXPECT_EQ(wrr.Pick([](int) { return false; }), -1);
}

TEST(SmoothWeightedRoundRobinTest, ZeroAndInvalidWeightsAreNeverPicked) {
  SmoothWeightedRoundRobin wrr;
  const std::vector<double> weights = {0, -1, std::numeric_limits<double>::quiet_NaN(), 2};
  wrr.SetWeights(weights);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(wrr.Pick(), 3);
  }
  const std::vector<double> zeros = {0, 0};
  wrr.SetWeights(zeros);
  EXPECT_EQ(wrr.Pick(), -1);
}

TEST(SmoothWeightedRoundRobinTest, WeightRefreshKeepsRotation) {
  SmoothWeightedRoundRobin a;
  SmoothWeightedRoundRobin b;
  const std::vector<double> weights = {5, 1, 1};
  a.SetWeights(weights);
  b.SetWeights(weights);
  EXPECT_EQ(Sequence(a, 3), "aab");
  EXPECT_EQ(Sequence(b, 3), "aab");
  // Refreshing with the same weights continues where it was instead of restarting.
  a.SetWeights(weights);
  EXPECT_EQ(Sequence(a, 4), "acaa");
  EXPECT_EQ(Sequence(b, 4), "acaa");
}

TEST(SmoothWeightedRoundRobinTest, GrowingKeepsExistingCurrentWeights) {
  SmoothWeightedRoundRobin wrr;
  const std::vector<double> weights = {1, 1};
  wrr.SetWeights(weights);
  EXPECT_EQ(wrr.Pick(), 0);
  const double current0 = wrr.current_weight(0);
  const std::vector<double> grown = {1, 1, 1};
  wrr.SetWeights(grown);
  EXPECT_EQ(wrr.size(), 3u);
  EXPECT_DOUBLE_EQ(wrr.current_weight(0), current0);
  EXPECT_DOUBLE_EQ(wrr.current_weight(2), 0);
  EXPECT_EQ(Sequence(wrr, 3), "bca");
}

TEST(SmoothWeightedRoundRobinTest, ResetRestartsRotation) {
  SmoothWeightedRoundRobin wrr;
  const std::vector<double> weights = {5, 1, 1};
  wrr.SetWeights(weights);
  EXPECT_EQ(Sequence(wrr, 3), "aab");
  wrr.Reset();
  EXPECT_EQ(Sequence(wrr, 7), "aabacaa");
}

}  // namespace
}  // namespace agentmesh::routing
