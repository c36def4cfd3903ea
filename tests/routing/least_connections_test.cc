#include "agentmesh/routing/least_connections.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

namespace agentmesh::routing {
namespace {

TEST(LeastConnectionsTest, PicksFewestInFlight) {
  LeastConnections lc;
  const std::vector<LeastConnectionsCandidate> c = {{5, 1}, {2, 1}, {7, 1}};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(lc.Pick(c), 1);
  }
}

TEST(LeastConnectionsTest, HealthFactorScalesLoad) {
  LeastConnections lc;
  // Recovering at 0.5: (1 + 1) / 0.5 = 4 beats (4 + 1) / 1 = 5 but loses to (2 + 1) / 1 = 3.
  EXPECT_EQ(lc.Pick(std::vector<LeastConnectionsCandidate>{{4, 1}, {1, 0.5}}), 1);
  EXPECT_EQ(lc.Pick(std::vector<LeastConnectionsCandidate>{{2, 1}, {1, 0.5}}), 0);
}

TEST(LeastConnectionsTest, NonPositiveHealthFactorIsNeverPicked) {
  LeastConnections lc;
  const std::vector<LeastConnectionsCandidate> c = {{0, 0}, {0, -1}, {100, 1}};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(lc.Pick(c), 2);
  }
  const std::vector<LeastConnectionsCandidate> none = {{0, 0}};
  EXPECT_EQ(lc.Pick(none), -1);
}

TEST(LeastConnectionsTest, TiesRotateSoEqualCandidatesShareLoad) {
  LeastConnections lc;
  const std::vector<LeastConnectionsCandidate> c = {{3, 1}, {3, 1}, {3, 1}, {3, 1}};
  std::array<int, 4> counts{};
  for (int i = 0; i < 400; ++i) {
    ++counts.at(lc.Pick(c));
  }
  for (int count : counts) {
    EXPECT_EQ(count, 100);
  }
}

TEST(LeastConnectionsTest, BalancesWhenCallerTracksInFlight) {
  LeastConnections lc;
  std::vector<LeastConnectionsCandidate> c = {{0, 1}, {0, 1}, {0, 0.5}};
  for (int i = 0; i < 50; ++i) {
    ++c.at(lc.Pick(c)).in_flight;
  }
  // The half-healthy instance carries about half the load of each healthy one.
  EXPECT_EQ(c[0].in_flight, 20);
  EXPECT_EQ(c[1].in_flight, 20);
  EXPECT_EQ(c[2].in_flight, 10);
}

TEST(LeastConnectionsTest, SkipsIneligible) {
  LeastConnections lc;
  const std::vector<LeastConnectionsCandidate> c = {{0, 1}, {9, 1}, {4, 1}};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(lc.Pick(c, [](int index) { return index != 0; }), 2);
  }
  EXPECT_EQ(lc.Pick(c, [](int) { return false; }), -1);
}

TEST(LeastConnectionsTest, EmptyReturnsMinusOne) {
  LeastConnections lc;
  EXPECT_EQ(lc.Pick(std::vector<LeastConnectionsCandidate>{}), -1);
}

TEST(LeastConnectionsTest, CandidateCountMayChangeBetweenPicks) {
  LeastConnections lc;
  const std::vector<LeastConnectionsCandidate> four = {{0, 1}, {0, 1}, {0, 1}, {0, 1}};
  EXPECT_EQ(lc.Pick(four), 0);
  EXPECT_EQ(lc.Pick(four), 1);
  EXPECT_EQ(lc.Pick(four), 2);
  const std::vector<LeastConnectionsCandidate> two = {{0, 1}, {0, 1}};
  EXPECT_EQ(lc.Pick(two), 0);
  EXPECT_EQ(lc.Pick(two), 1);
  EXPECT_EQ(lc.Pick(two), 0);
}

}  // namespace
}  // namespace agentmesh::routing
