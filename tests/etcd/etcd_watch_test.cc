#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <gtest/gtest.h>

#include "agentmesh/etcd/etcd_client.h"

#include "etcd/etcd_test_support.h"

namespace agentmesh::etcd {
namespace {

using testing::EtcdTest;
using testing::UniquePrefix;

using EtcdWatchTest = EtcdTest;

struct Seen {
  WatchEvent::Type type;
  std::string key;
  std::string value;
  std::int64_t mod_revision;
  bool operator==(const Seen&) const = default;
};

TEST_F(EtcdWatchTest, SeesPutsAndDeletesInOrderFromAPastRevision) {
  const std::string prefix = UniquePrefix("watch");
  const std::string key = prefix + "k";
  const std::string v1 = "one";
  const std::string v2 = "two";
  auto first = Run([&] { return client_->Put(key, v1); });
  ASSERT_TRUE(first) << first.error().ToString();
  auto second = Run([&] { return client_->Put(key, v2); });
  ASSERT_TRUE(second) << second.error().ToString();
  auto deleted = Run([&] { return client_->Delete(key); });
  ASSERT_TRUE(deleted) << deleted.error().ToString();
  const std::int64_t deleted_at = *Run([&] { return client_->CurrentRevision(); });

  EtcdWatch watch(ioc_.get_executor(), *client_);
  const std::string end = PrefixEnd(prefix);
  const std::int64_t from = *first;
  core::Status started = Run([&] { return watch.Start(prefix, end, from); });
  ASSERT_TRUE(started.ok()) << started.ToString();

  const std::string other = prefix + "other";
  const std::string v3 = "three";
  auto later = Run([&] { return client_->Put(other, v3); });
  ASSERT_TRUE(later) << later.error().ToString();

  std::vector<Seen> seen;
  while (seen.size() < 4) {
    auto batch = Run([&] { return watch.Next(); });
    ASSERT_TRUE(batch) << batch.error().ToString();
    ASSERT_FALSE(batch->events.empty());
    for (const WatchEvent& e : batch->events) {
      EXPECT_LE(e.kv.mod_revision, batch->revision);
      seen.push_back({e.type, e.kv.key, e.kv.value, e.kv.mod_revision});
    }
  }
  const std::vector<Seen> expected = {
      {WatchEvent::Type::kPut, key, v1, *first},
      {WatchEvent::Type::kPut, key, v2, *second},
      {WatchEvent::Type::kDelete, key, "", deleted_at},
      {WatchEvent::Type::kPut, other, v3, *later},
  };
  EXPECT_EQ(seen, expected);
}

TEST_F(EtcdWatchTest, FromNowOnSeesOnlyLaterChanges) {
  const std::string prefix = UniquePrefix("watch-now");
  const std::string before = prefix + "before";
  const std::string after = prefix + "after";
  const std::string value = "v";
  ASSERT_TRUE(Run([&] { return client_->Put(before, value); }));
  EtcdWatch watch(ioc_.get_executor(), *client_);
  const std::string end = PrefixEnd(prefix);
  core::Status started = Run([&] { return watch.Start(prefix, end, 0); });
  ASSERT_TRUE(started.ok()) << started.ToString();
  ASSERT_TRUE(Run([&] { return client_->Put(after, value); }));
  auto batch = Run([&] { return watch.Next(); });
  ASSERT_TRUE(batch) << batch.error().ToString();
  ASSERT_EQ(batch->events.size(), 1u);
  EXPECT_EQ(batch->events[0].kv.key, after);
}

TEST_F(EtcdWatchTest, CompactedStartRevisionFailsWithCompacted) {
  const std::string prefix = UniquePrefix("watch-compact");
  const std::string key = prefix + "k";
  const std::string value = "v";
  auto first = Run([&] { return client_->Put(key, value); });
  ASSERT_TRUE(first) << first.error().ToString();
  auto second = Run([&] { return client_->Put(key, value); });
  ASSERT_TRUE(second) << second.error().ToString();
  boost::json::object compact;
  compact["revision"] = std::to_string(*second);
  auto reply = agentmesh::testing::EtcdPost(server_->endpoint(), "/v3/kv/compaction", compact);
  ASSERT_EQ(reply.status, 200) << reply.raw;

  EtcdWatch watch(ioc_.get_executor(), *client_);
  const std::string end = PrefixEnd(prefix);
  const std::int64_t from = *first;
  core::Status started = Run([&] { return watch.Start(prefix, end, from); });
  core::Status outcome = started;
  if (started.ok()) {
    auto batch = Run([&] { return watch.Next(); });
    ASSERT_FALSE(batch);
    outcome = batch.error();
  }
  EXPECT_EQ(outcome.code(), core::StatusCode::kFailedPrecondition) << outcome.ToString();
  EXPECT_EQ(outcome.reason(), "compacted");
  if (started.ok()) {
    auto again = Run([&] { return watch.Next(); });
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().reason(), "compacted");
  }
}

TEST_F(EtcdWatchTest, CloseCancelsAPendingNext) {
  const std::string prefix = UniquePrefix("watch-close");
  EtcdWatch watch(ioc_.get_executor(), *client_);
  const std::string end = PrefixEnd(prefix);
  core::Status started = Run([&] { return watch.Start(prefix, end, 0); });
  ASSERT_TRUE(started.ok()) << started.ToString();

  std::optional<core::Result<WatchBatch>> next;
  boost::asio::co_spawn(
      ioc_, [&]() -> boost::asio::awaitable<void> { next = co_await watch.Next(); },
      boost::asio::detached);
  boost::asio::co_spawn(
      ioc_,
      [&]() -> boost::asio::awaitable<void> {
        co_await boost::asio::post(ioc_, boost::asio::use_awaitable);
        watch.Close();
      },
      boost::asio::detached);
  ioc_.restart();
  ioc_.run();
  ASSERT_TRUE(next.has_value());
  ASSERT_FALSE(*next);
  EXPECT_EQ(next->error().code(), core::StatusCode::kCancelled);

  auto after = Run([&] { return watch.Next(); });
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code(), core::StatusCode::kCancelled);
}

TEST_F(EtcdWatchTest, NextBeforeStartIsAnError) {
  EtcdWatch watch(ioc_.get_executor(), *client_);
  auto batch = Run([&] { return watch.Next(); });
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().code(), core::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace agentmesh::etcd
