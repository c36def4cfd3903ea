#include "agentmesh/observe/event_journal.h"

#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace agentmesh::observe {
namespace {

core::Event MakeEvent(std::string type, std::string agent = "a1") {
  core::Event event;
  event.type = std::move(type);
  event.agent_id = std::move(agent);
  event.timestamp = core::WallTime(std::chrono::milliseconds(1'800'000'000'123LL));
  return event;
}

TEST(EventJournalTest, AssignsUuidV4AndGrowingVersions) {
  EventJournal journal(10, 42);
  for (int i = 0; i < 5; ++i) {
    journal.Emit(MakeEvent("agent.registered"));
  }
  std::vector<core::Event> events = journal.Recent(10);
  ASSERT_EQ(events.size(), 5u);
  const std::regex uuid_v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].version, i + 1);
    EXPECT_TRUE(std::regex_match(events[i].event_id, uuid_v4)) << events[i].event_id;
    ids.insert(events[i].event_id);
  }
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(journal.total(), 5u);
}

TEST(EventJournalTest, SameSeedGivesSameIds) {
  EventJournal a(4, 7);
  EventJournal b(4, 7);
  a.Emit(MakeEvent("x"));
  b.Emit(MakeEvent("x"));
  EXPECT_EQ(a.Recent(1)[0].event_id, b.Recent(1)[0].event_id);
}

TEST(EventJournalTest, KeepsNewestUpToCapacityNewestLast) {
  EventJournal journal(3, 1);
  for (int i = 0; i < 10; ++i) {
    journal.Emit(MakeEvent("t", "a" + std::to_string(i)));
  }
  std::vector<core::Event> events = journal.Recent(100);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].agent_id, "a7");
  EXPECT_EQ(events[2].agent_id, "a9");
  EXPECT_EQ(events[2].version, 10u);
  EXPECT_EQ(journal.total(), 10u);
  std::vector<core::Event> last_two = journal.Recent(2);
  ASSERT_EQ(last_two.size(), 2u);
  EXPECT_EQ(last_two[0].agent_id, "a8");
  EXPECT_EQ(last_two[1].agent_id, "a9");
  EXPECT_TRUE(journal.Recent(0).empty());
}

TEST(EventJournalTest, FiltersByTypePrefix) {
  EventJournal journal(100, 1);
  journal.Emit(MakeEvent("agent.registered", "a"));
  journal.Emit(MakeEvent("lock.acquired", "b"));
  journal.Emit(MakeEvent("agent.health_changed", "c"));
  journal.Emit(MakeEvent("agent.deregistered", "d"));
  std::vector<core::Event> agents = journal.Recent(2, "agent.");
  ASSERT_EQ(agents.size(), 2u);
  EXPECT_EQ(agents[0].agent_id, "c");
  EXPECT_EQ(agents[1].agent_id, "d");
  EXPECT_EQ(journal.Recent(10, "lock").size(), 1u);
  EXPECT_TRUE(journal.Recent(10, "bus.").empty());
  EXPECT_EQ(journal.Recent(10, "").size(), 4u);
}

TEST(EventJournalTest, ZeroCapacityKeepsOne) {
  EventJournal journal(0, 1);
  EXPECT_EQ(journal.capacity(), 1u);
  journal.Emit(MakeEvent("a"));
  journal.Emit(MakeEvent("b"));
  ASSERT_EQ(journal.Recent(5).size(), 1u);
  EXPECT_EQ(journal.Recent(5)[0].type, "b");
}

TEST(EventJournalTest, ConcurrentEmittersGetDistinctVersions) {
  EventJournal journal(100000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&journal] {
      for (int i = 0; i < 1000; ++i) {
        journal.Emit(MakeEvent("t"));
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  std::vector<core::Event> events = journal.Recent(10000);
  ASSERT_EQ(events.size(), 4000u);
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].version, i + 1);
  }
}

TEST(EventJournalTest, ToJsonFollowsTheRulesSchema) {
  EventJournal journal(10, 3);
  core::Event event = MakeEvent("agent.health_changed", "a1");
  event.correlation_id = "req-1";
  event.data = {{"from", "healthy"}, {"to", "suspect"}};
  journal.Emit(event);
  boost::json::object json = ToJson(journal.Recent(1)[0]);
  EXPECT_EQ(json.at("event_type").as_string(), "agent.health_changed");
  EXPECT_EQ(json.at("agent_id").as_string(), "a1");
  EXPECT_EQ(json.at("timestamp").as_string(), "2027-01-15T08:00:00.123Z");
  EXPECT_EQ(json.at("version").as_uint64(), 1u);
  EXPECT_EQ(json.at("correlation_id").as_string(), "req-1");
  EXPECT_EQ(json.at("event_id").as_string().size(), 36u);
  EXPECT_EQ(json.at("data").as_object().at("to").as_string(), "suspect");

  core::Event bare = MakeEvent("x");
  EXPECT_TRUE(ToJson(bare).at("correlation_id").is_null());
}

TEST(FormatRfc3339MillisTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339Millis(core::WallTime{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Millis(core::WallTime(std::chrono::milliseconds(951782400999LL))),
            "2000-02-29T00:00:00.999Z");
  EXPECT_EQ(FormatRfc3339Millis(core::WallTime(std::chrono::microseconds(1500))),
            "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(FormatRfc3339Millis(core::WallTime(-std::chrono::milliseconds(1))),
            "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace agentmesh::observe
