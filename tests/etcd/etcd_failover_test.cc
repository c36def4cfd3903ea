#include <string>

#include <gtest/gtest.h>

#include "agentmesh/core/clock.h"
#include "agentmesh/etcd/etcd_client.h"

#include "etcd/etcd_test_support.h"

namespace agentmesh::etcd {
namespace {

using testing::EtcdTest;
using testing::UniquePrefix;

using EtcdFailoverTest = EtcdTest;

std::string DeadEndpoint() {
  return "http://127.0.0.1:" + std::to_string(agentmesh::testing::FreeLoopbackPort());
}

TEST_F(EtcdFailoverTest, UnreachableFirstEndpointIsSkipped) {
  EtcdClientOptions options = Options();
  options.endpoints = {DeadEndpoint(), server_->endpoint()};
  EtcdClient client(ioc_.get_executor(), options);
  const std::string key = UniquePrefix("failover") + "k";
  const std::string value = "v";
  auto put = Run([&] { return client.Put(key, value); });
  ASSERT_TRUE(put) << put.error().ToString();
  RangeRequest get;
  get.key = key;
  auto got = Run([&] { return client.Range(get); });
  ASSERT_TRUE(got) << got.error().ToString();
  ASSERT_EQ(got->kvs.size(), 1u);

  EtcdWatch watch(ioc_.get_executor(), client);
  const std::string end = PrefixEnd(key);
  const std::int64_t from = *put;
  core::Status started = Run([&] { return watch.Start(key, end, from); });
  ASSERT_TRUE(started.ok()) << started.ToString();
  auto batch = Run([&] { return watch.Next(); });
  ASSERT_TRUE(batch) << batch.error().ToString();
  EXPECT_EQ(batch->events.at(0).kv.value, value);
}

TEST_F(EtcdFailoverTest, NoReachableEndpointIsUnavailable) {
  EtcdClientOptions options = Options();
  options.endpoints = {DeadEndpoint(), DeadEndpoint()};
  EtcdClient client(ioc_.get_executor(), options);
  auto revision = Run([&] { return client.CurrentRevision(); });
  ASSERT_FALSE(revision);
  EXPECT_EQ(revision.error().code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(revision.error().reason(), "etcd_unavailable");

  EtcdWatch watch(ioc_.get_executor(), client);
  const std::string key = "k";
  const std::string end;
  core::Status started = Run([&] { return watch.Start(key, end, 0); });
  EXPECT_EQ(started.reason(), "etcd_unavailable");
}

TEST_F(EtcdFailoverTest, InvalidEndpointsFailEveryCall) {
  EtcdClientOptions options = Options();
  options.endpoints = {"not a url"};
  EtcdClient client(ioc_.get_executor(), options);
  auto revision = Run([&] { return client.CurrentRevision(); });
  ASSERT_FALSE(revision);
  EXPECT_EQ(revision.error().reason(), "invalid_etcd_endpoint");
}

// Last in the suite: it crashes and restarts the suite's etcd.
TEST_F(EtcdFailoverTest, CrashMakesCallsUnavailableWithinTimeoutAndRestartRecovers) {
  const std::string prefix = UniquePrefix("crash");
  const std::string key = prefix + "k";
  const std::string value = "v";
  auto put = Run([&] { return client_->Put(key, value); });
  ASSERT_TRUE(put) << put.error().ToString();
  EtcdWatch watch(ioc_.get_executor(), *client_);
  const std::string end = PrefixEnd(prefix);
  core::Status started = Run([&] { return watch.Start(prefix, end, 0); });
  ASSERT_TRUE(started.ok()) << started.ToString();

  server_->Kill9();
  auto broken = Run([&] { return watch.Next(); });
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code(), core::StatusCode::kUnavailable) << broken.error().ToString();

  const core::TimePoint before = core::SystemClock::Instance().Now();
  auto down = Run([&] { return client_->Put(key, value); });
  const core::Duration took = core::SystemClock::Instance().Now() - before;
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), core::StatusCode::kUnavailable) << down.error().ToString();
  EXPECT_EQ(down.error().reason(), "etcd_unavailable");
  EXPECT_LE(took, Options().request_timeout);

  ASSERT_EQ(server_->Restart(), "");
  auto up = Run([&] { return client_->Put(key, value); });
  ASSERT_TRUE(up) << up.error().ToString();
  EXPECT_GT(*up, *put);
  EtcdWatch again(ioc_.get_executor(), *client_);
  const std::int64_t from = *up;
  core::Status restarted = Run([&] { return again.Start(prefix, end, from); });
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  auto batch = Run([&] { return again.Next(); });
  ASSERT_TRUE(batch) << batch.error().ToString();
  EXPECT_EQ(batch->events.at(0).kv.mod_revision, *up);
}

}  // namespace
}  // namespace agentmesh::etcd
