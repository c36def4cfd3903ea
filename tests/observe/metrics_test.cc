#include "agentmesh/observe/metrics.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace agentmesh::observe {
namespace {

TEST(RegistryTest, RendersCounterWithHelpTypeAndLabels) {
  Registry registry;
  auto& requests = registry.AddCounter("agentmesh_server_requests_total", "HTTP requests served.",
                                       {"route", "status"});
  requests.WithLabels({"/v1/agents", "200"}).Inc(3);
  requests.WithLabels({"/health", "503"}).Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP agentmesh_server_requests_total HTTP requests served.\n"
            "# TYPE agentmesh_server_requests_total counter\n"
            "agentmesh_server_requests_total{route=\"/health\",status=\"503\"} 1\n"
            "agentmesh_server_requests_total{route=\"/v1/agents\",status=\"200\"} 3\n");
}

TEST(RegistryTest, ChildHandleIsStableAndShared) {
  Registry registry;
  auto& family = registry.AddCounter("agentmesh_test_events_total", "Events.", {"kind"});
  Counter& a = family.WithLabels({"x"});
  Counter& b = family.WithLabels({"x"});
  EXPECT_EQ(&a, &b);
  a.Inc(2);
  EXPECT_EQ(b.Value(), 2u);
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  auto& g = registry.AddGauge("agentmesh_test_value", "Line one\nback\\slash", {"name"});
  g.WithLabels({"a\"b\\c\nd"}).Set(1.5);
  EXPECT_EQ(registry.Render(),
            "# HELP agentmesh_test_value Line one\\nback\\\\slash\n"
            "# TYPE agentmesh_test_value gauge\n"
            "agentmesh_test_value{name=\"a\\\"b\\\\c\\nd\"} 1.5\n");
}

TEST(RegistryTest, RendersHistogramBucketsCumulativelyWithInf) {
  Registry registry;
  auto& h =
      registry.AddHistogram("agentmesh_test_duration_seconds", "Durations.", {"route"}, {0.1, 1});
  Histogram& child = h.WithLabels({"r"});
  child.Observe(0.05);
  child.Observe(0.1);
  child.Observe(0.5);
  child.Observe(3);
  EXPECT_EQ(registry.Render(),
            "# HELP agentmesh_test_duration_seconds Durations.\n"
            "# TYPE agentmesh_test_duration_seconds histogram\n"
            "agentmesh_test_duration_seconds_bucket{route=\"r\",le=\"0.1\"} 2\n"
            "agentmesh_test_duration_seconds_bucket{route=\"r\",le=\"1\"} 3\n"
            "agentmesh_test_duration_seconds_bucket{route=\"r\",le=\"+Inf\"} 4\n"
            "agentmesh_test_duration_seconds_sum{route=\"r\"} 3.65\n"
            "agentmesh_test_duration_seconds_count{route=\"r\"} 4\n");
}

TEST(HistogramTest, SnapshotAddsUpObservationsFromManyThreads) {
  // More threads than the histogram has shards, each with a spread over every bucket.
  Histogram h({1, 2, 4, 8, 16, 32, 64, 128, 256});
  constexpr int kThreads = 12;
  constexpr int kPerThread = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < kPerThread; ++i) {
        h.Observe(i % 500);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const Histogram::Snapshot snap = h.Snap();
  EXPECT_EQ(snap.count, std::uint64_t{kThreads} * kPerThread);
  ASSERT_EQ(snap.cumulative.size(), 10u);
  // Per thread: values 0..499 twice; "<= 1" holds 0 and 1, "<= 256" holds 0..256.
  EXPECT_EQ(snap.cumulative[0], std::uint64_t{kThreads} * 2 * 2);
  EXPECT_EQ(snap.cumulative[8], std::uint64_t{kThreads} * 2 * 257);
  EXPECT_EQ(snap.cumulative[9], snap.count);
  EXPECT_DOUBLE_EQ(snap.sum, double{kThreads} * 2 * (499.0 * 500 / 2));
}

TEST(RegistryTest, CallbackFamilyIsComputedAtRenderTimeAndSorted) {
  Registry registry;
  int calls = 0;
  registry.AddCallback("agentmesh_agents", "Agents by phase and state.", MetricType::kGauge,
                       {"phase", "state"}, [&calls] {
                         ++calls;
                         return std::vector<Sample>{{{"2", "healthy"}, 4}, {{"1", "suspect"}, 1}};
                       });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(registry.Render(),
            "# HELP agentmesh_agents Agents by phase and state.\n"
            "# TYPE agentmesh_agents gauge\n"
            "agentmesh_agents{phase=\"1\",state=\"suspect\"} 1\n"
            "agentmesh_agents{phase=\"2\",state=\"healthy\"} 4\n");
  EXPECT_EQ(calls, 1);
}

TEST(RegistryTest, UnlabelledFamilyWithoutChildrenRendersOnlyHeaders) {
  Registry registry;
  registry.AddCounter("agentmesh_test_total", "Nothing yet.");
  EXPECT_EQ(registry.Render(),
            "# HELP agentmesh_test_total Nothing yet.\n# TYPE agentmesh_test_total counter\n");
}

TEST(FormatSampleValueTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatSampleValue(2), "2");
  EXPECT_EQ(FormatSampleValue(0.25), "0.25");
  EXPECT_EQ(FormatSampleValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatSampleValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatSampleValue(0.0 / 0.0), "NaN");
}

TEST(RegistryDeathTest, RejectsInvalidMetricName) {
  Registry registry;
  EXPECT_DEATH(registry.AddCounter("9bad-name", "x"), "invalid metric name");
}

// promtool is installed here and in CI; the check is skipped where it is missing.
TEST(RegistryTest, PromtoolAcceptsRenderedSample) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not on PATH";
  }
  Registry registry;
  registry.AddCounter("agentmesh_server_requests_total", "Requests.", {"route", "method", "status"})
      .WithLabels({"/v1/agents/{id}", "PUT", "201"})
      .Inc();
  auto& h = registry.AddHistogram("agentmesh_server_request_duration_seconds", "Latency.",
                                  {"route", "method"}, DefaultLatencyBuckets());
  h.WithLabels({"/v1/agents/{id}", "PUT"}).Observe(0.002);
  registry.AddGauge("agentmesh_health_phi", "Phi.", {"instance"}).WithLabels({"a\"b"}).Set(0.5);
  registry.AddCallback("agentmesh_agents", "Agents.", MetricType::kGauge, {"phase", "state"}, [] {
    return std::vector<Sample>{{{"1", "healthy"}, 2}};
  });
  const auto path = std::filesystem::temp_directory_path() /
                    ("agentmesh_metrics_" + std::to_string(::getpid()) + ".prom");
  {
    std::ofstream out(path);
    out << registry.Render();
  }
  const std::string cmd = "promtool check metrics < " + path.string() + " >/dev/null 2>&1";
  const int rc = std::system(cmd.c_str());
  std::filesystem::remove(path);
  EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace agentmesh::observe
