#include "agentmesh/observe/trace_store.h"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace agentmesh::observe {
namespace {

using namespace std::chrono_literals;

const core::WallTime kEpoch = core::WallTime(std::chrono::seconds(1'800'000'000));

TraceId Trace(std::uint8_t n) {
  TraceId id;
  id.bytes[15] = n;
  return id;
}

SpanId SpanOf(std::uint8_t n) {
  SpanId id;
  id.bytes[7] = n;
  return id;
}

Span MakeSpan(std::uint8_t trace, std::uint8_t span, std::uint8_t parent, core::Duration offset,
              core::Duration duration = 10ms) {
  Span s;
  s.trace_id = Trace(trace);
  s.span_id = SpanOf(span);
  s.parent_id = parent == 0 ? SpanId{} : SpanOf(parent);
  s.name = "GET /agents/{name}";
  s.start = kEpoch + std::chrono::duration_cast<core::WallTime::duration>(offset);
  s.duration = duration;
  s.http_status = 200;
  return s;
}

std::vector<std::string> TraceIds(const boost::json::array& recent) {
  std::vector<std::string> ids;
  for (const auto& v : recent) {
    ids.emplace_back(v.at("trace_id").as_string());
  }
  return ids;
}

TEST(TraceStoreTest, ValidateRejectsZeroBounds) {
  EXPECT_TRUE(Validate(TraceStoreOptions{}).ok());
  EXPECT_EQ(Validate({.max_traces = 0}).reason(), "invalid_max_traces");
  EXPECT_EQ(Validate({.max_spans_per_trace = 0}).reason(), "invalid_max_spans_per_trace");
}

TEST(TraceStoreTest, EvictsEarliestStartedTraceWhenFull) {
  TraceStore store({.max_traces = 2});
  store.Record(MakeSpan(1, 1, 0, 0ms));
  store.Record(MakeSpan(2, 1, 0, 1ms));
  store.Record(MakeSpan(3, 1, 0, 2ms));
  EXPECT_EQ(store.size(), 2u);
  EXPECT_FALSE(store.Tree(Trace(1)).has_value());
  EXPECT_TRUE(store.Tree(Trace(2)).has_value());
  EXPECT_TRUE(store.Tree(Trace(3)).has_value());
  // A trace that started before every kept one is the oldest: it is not kept.
  store.Record(MakeSpan(4, 1, 0, -5ms));
  EXPECT_EQ(store.size(), 2u);
  EXPECT_FALSE(store.Tree(Trace(4)).has_value());
  EXPECT_EQ(store.dropped_spans(), 2u);
}

TEST(TraceStoreTest, OrdersTracesByEarliestSpanStart) {
  TraceStore store({.max_traces = 2});
  // The child of trace 1 finishes (and is recorded) first; its root started earlier.
  store.Record(MakeSpan(1, 2, 1, 5ms));
  store.Record(MakeSpan(2, 1, 0, 3ms));
  store.Record(MakeSpan(1, 1, 0, 0ms, 20ms));
  EXPECT_EQ(TraceIds(store.Recent({})), (std::vector<std::string>{Trace(2).Hex(), Trace(1).Hex()}));
  store.Record(MakeSpan(3, 1, 0, 4ms));
  EXPECT_FALSE(store.Tree(Trace(1)).has_value());
}

TEST(TraceStoreTest, CapsSpansPerTrace) {
  TraceStore store({.max_spans_per_trace = 3});
  for (std::uint8_t i = 1; i <= 5; ++i) {
    store.Record(MakeSpan(1, i, i == 1 ? 0 : 1, std::chrono::milliseconds(i)));
  }
  auto tree = store.Tree(Trace(1));
  ASSERT_TRUE(tree.has_value());
  EXPECT_EQ(tree->at("span_count").to_number<std::int64_t>(), 3);
  EXPECT_EQ(tree->at("dropped_spans").to_number<std::int64_t>(), 2);
  EXPECT_EQ(store.dropped_spans(), 2u);
}

TEST(TraceStoreTest, IgnoresSpansWithoutTraceId) {
  TraceStore store({});
  Span s = MakeSpan(1, 1, 0, 0ms);
  s.trace_id = TraceId{};
  store.Record(s);
  EXPECT_EQ(store.size(), 0u);
}

TEST(TraceStoreTest, TreeLinksChildrenToParentsAndOrphansBecomeRoots) {
  TraceStore store({});
  store.Record(MakeSpan(1, 3, 2, 2ms));  // grandchild
  store.Record(MakeSpan(1, 4, 1, 5ms));  // second child
  store.Record(MakeSpan(1, 2, 1, 1ms));  // first child
  store.Record(MakeSpan(1, 1, 0, 0ms));  // root
  store.Record(MakeSpan(1, 9, 8, 7ms));  // parent 8 never arrived
  auto tree = store.Tree(Trace(1));
  ASSERT_TRUE(tree.has_value());
  EXPECT_EQ(tree->at("trace_id").as_string(), Trace(1).Hex());
  const auto& roots = tree->at("spans").as_array();
  ASSERT_EQ(roots.size(), 2u);
  const auto& root = roots[0].as_object();
  EXPECT_EQ(root.at("span_id").as_string(), SpanOf(1).Hex());
  EXPECT_TRUE(root.at("parent_id").is_null());
  const auto& children = root.at("children").as_array();
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].at("span_id").as_string(), SpanOf(2).Hex());
  EXPECT_EQ(children[0].at("parent_id").as_string(), SpanOf(1).Hex());
  EXPECT_EQ(children[1].at("span_id").as_string(), SpanOf(4).Hex());
  const auto& grandchildren = children[0].at("children").as_array();
  ASSERT_EQ(grandchildren.size(), 1u);
  EXPECT_EQ(grandchildren[0].at("span_id").as_string(), SpanOf(3).Hex());
  EXPECT_EQ(roots[1].at("span_id").as_string(), SpanOf(9).Hex());
  EXPECT_EQ(roots[1].at("parent_id").as_string(), SpanOf(8).Hex());
  EXPECT_FALSE(store.Tree(Trace(2)).has_value());
}

TEST(TraceStoreTest, TreeSpanCarriesFieldsAndAttributes) {
  TraceStore store({});
  Span s = MakeSpan(1, 1, 0, 0ms, 250ms);
  s.kind = "client";
  s.http_status = 503;
  s.error = true;
  s.attributes = {{"agent.id", "orch-1"}, {"request.priority", "high"}};
  store.Record(s);
  auto tree = store.Tree(Trace(1));
  ASSERT_TRUE(tree.has_value());
  const auto& span = tree->at("spans").as_array()[0].as_object();
  EXPECT_EQ(span.at("name").as_string(), "GET /agents/{name}");
  EXPECT_EQ(span.at("kind").as_string(), "client");
  EXPECT_EQ(span.at("start").as_string(), "2027-01-15T08:00:00.000Z");
  EXPECT_DOUBLE_EQ(span.at("duration_ms").as_double(), 250.0);
  EXPECT_EQ(span.at("http_status").as_int64(), 503);
  EXPECT_TRUE(span.at("error").as_bool());
  EXPECT_EQ(span.at("attributes").at("agent.id").as_string(), "orch-1");
  EXPECT_EQ(span.at("attributes").at("request.priority").as_string(), "high");
}

TEST(TraceStoreTest, RecentSummarisesNewestFirst) {
  TraceStore store({});
  Span root = MakeSpan(1, 1, 0, 0ms, 100ms);
  root.name = "POST /api/v1/{capability}";
  root.attributes = {{"agent.id", "orch-1"}};
  Span child = MakeSpan(1, 2, 1, 10ms, 120ms);  // ends after the root: duration 130 ms
  child.attributes = {{"agent.name", "coder"}, {"agent.id", "orch-1"}};
  child.error = true;
  store.Record(child);
  store.Record(root);
  store.Record(MakeSpan(2, 1, 0, 50ms));
  const boost::json::array recent = store.Recent({});
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].at("trace_id").as_string(), Trace(2).Hex());
  const auto& summary = recent[1].as_object();
  EXPECT_EQ(summary.at("root").as_string(), "POST /api/v1/{capability}");
  EXPECT_EQ(summary.at("start").as_string(), "2027-01-15T08:00:00.000Z");
  EXPECT_DOUBLE_EQ(summary.at("duration_ms").as_double(), 130.0);
  EXPECT_EQ(summary.at("span_count").to_number<std::int64_t>(), 2);
  EXPECT_TRUE(summary.at("error").as_bool());
  EXPECT_EQ(boost::json::serialize(summary.at("agents")), R"(["coder","orch-1"])");
}

TEST(TraceStoreTest, RecentFiltersByAgentErrorsDurationAndLimit) {
  TraceStore store({});
  Span a = MakeSpan(1, 1, 0, 0ms, 300ms);
  a.attributes = {{"agent.id", "orch-1"}};
  Span b = MakeSpan(2, 1, 0, 1ms, 50ms);
  b.attributes = {{"agent.name", "coder"}};
  b.error = true;
  Span c = MakeSpan(3, 1, 0, 2ms, 500ms);
  c.error = true;
  store.Record(a);
  store.Record(b);
  store.Record(c);
  EXPECT_EQ(TraceIds(store.Recent({.agent = "orch-1"})), std::vector<std::string>{Trace(1).Hex()});
  EXPECT_EQ(TraceIds(store.Recent({.agent = "coder"})), std::vector<std::string>{Trace(2).Hex()});
  EXPECT_TRUE(store.Recent({.agent = "nobody"}).empty());
  EXPECT_EQ(TraceIds(store.Recent({.errors_only = true})),
            (std::vector<std::string>{Trace(3).Hex(), Trace(2).Hex()}));
  EXPECT_EQ(TraceIds(store.Recent({.min_duration = 250ms})),
            (std::vector<std::string>{Trace(3).Hex(), Trace(1).Hex()}));
  EXPECT_EQ(TraceIds(store.Recent({.errors_only = true, .min_duration = 250ms})),
            std::vector<std::string>{Trace(3).Hex()});
  EXPECT_EQ(TraceIds(store.Recent({.limit = 1})), std::vector<std::string>{Trace(3).Hex()});
}

}  // namespace
}  // namespace agentmesh::observe
