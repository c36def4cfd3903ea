// The etcd test fixture (tests/testing/etcd_server.h) against a real etcd: it starts
// healthy on loopback, its lock recipe with our own leases excludes a second holder
// until the first unlocks or its lease is revoked, and data survives kill -9.
#include "testing/etcd_server.h"

#include <chrono>
#include <future>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace agentmesh {
namespace {

using namespace std::chrono_literals;
using testing::Base64Decode;
using testing::Base64Encode;
using testing::EtcdField;
using testing::EtcdPost;
using testing::EtcdReply;
using testing::EtcdServer;
namespace json = boost::json;

// Long enough that a waiter that was going to be granted wrongly would have been.
constexpr auto kStillBlocked = 500ms;
constexpr auto kGrantAfterRelease = 5s;

// Grants a lease with `ttl_s` seconds; returns its id (a decimal string) or "".
std::string GrantLease(const EtcdServer& etcd, int ttl_s) {
  EtcdReply r = EtcdPost(etcd.endpoint(), "/v3/lease/grant", {{"TTL", std::to_string(ttl_s)}});
  return r.status == 200 ? EtcdField(r.body, "ID") : "";
}

// Takes lock `name` with `lease`; returns the (base64) ownership key or "" on failure.
std::string Lock(const std::string& endpoint, const std::string& name, const std::string& lease) {
  EtcdReply r =
      EtcdPost(endpoint, "/v3/lock/lock", {{"name", Base64Encode(name)}, {"lease", lease}}, 30s);
  return r.status == 200 ? EtcdField(r.body, "key") : "";
}

class EtcdServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(EtcdServer::Installed())
        << EtcdServer::kBinary << " is missing: run scripts/install-deps (etcd-server)";
    const std::string why = etcd_.Start();
    ASSERT_EQ(why, "") << why;
  }

  EtcdServer etcd_;
};

TEST_F(EtcdServerTest, StartsHealthyOnLoopbackPorts) {
  EXPECT_EQ(etcd_.endpoint(), "http://127.0.0.1:" + std::to_string(etcd_.client_port()));
  EXPECT_NE(etcd_.client_port(), etcd_.peer_port());
  EXPECT_TRUE(etcd_.Healthy());
  EtcdReply r = EtcdPost(etcd_.endpoint(), "/v3/kv/range", {{"key", Base64Encode("nothing")}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(EtcdField(r.body.at("header"), "revision"), "1") << "a fresh data dir";
}

TEST_F(EtcdServerTest, SecondLockWithAnotherLeaseWaitsUntilFirstUnlocks) {
  const std::string lease_a = GrantLease(etcd_, 60);
  const std::string lease_b = GrantLease(etcd_, 60);
  ASSERT_NE(lease_a, "");
  ASSERT_NE(lease_b, "");
  ASSERT_NE(lease_a, lease_b);

  const std::string key_a = Lock(etcd_.endpoint(), "agentmesh/locks/db", lease_a);
  ASSERT_NE(key_a, "");
  EXPECT_EQ(Base64Decode(key_a).rfind("agentmesh/locks/db/", 0), 0u) << Base64Decode(key_a);

  std::future<std::string> second = std::async(
      std::launch::async,
      [&, endpoint = etcd_.endpoint()] { return Lock(endpoint, "agentmesh/locks/db", lease_b); });
  ASSERT_EQ(second.wait_for(kStillBlocked), std::future_status::timeout)
      << "a second holder was granted while the first held the lock";

  EtcdReply unlock = EtcdPost(etcd_.endpoint(), "/v3/lock/unlock", {{"key", key_a}});
  ASSERT_EQ(unlock.status, 200) << unlock.raw;
  ASSERT_EQ(second.wait_for(kGrantAfterRelease), std::future_status::ready);
  const std::string key_b = second.get();
  ASSERT_NE(key_b, "");
  EXPECT_NE(key_b, key_a);

  // The holder's key exists and is attached to its lease; the released one is gone.
  EtcdReply held = EtcdPost(etcd_.endpoint(), "/v3/kv/range", {{"key", key_b}});
  ASSERT_EQ(held.status, 200) << held.raw;
  ASSERT_EQ(held.body.at("kvs").as_array().size(), 1u);
  EXPECT_EQ(EtcdField(held.body.at("kvs").at(0), "lease"), lease_b);
  EtcdReply gone = EtcdPost(etcd_.endpoint(), "/v3/kv/range", {{"key", key_a}});
  ASSERT_EQ(gone.status, 200) << gone.raw;
  EXPECT_EQ(gone.body.as_object().if_contains("kvs"), nullptr);
}

TEST_F(EtcdServerTest, RevokingTheHoldersLeaseGrantsTheWaiter) {
  const std::string lease_a = GrantLease(etcd_, 60);
  const std::string lease_b = GrantLease(etcd_, 60);
  ASSERT_NE(Lock(etcd_.endpoint(), "jobs", lease_a), "");
  std::future<std::string> second =
      std::async(std::launch::async,
                 [&, endpoint = etcd_.endpoint()] { return Lock(endpoint, "jobs", lease_b); });
  ASSERT_EQ(second.wait_for(kStillBlocked), std::future_status::timeout);

  EtcdReply revoke = EtcdPost(etcd_.endpoint(), "/v3/lease/revoke", {{"ID", lease_a}});
  ASSERT_EQ(revoke.status, 200) << revoke.raw;
  ASSERT_EQ(second.wait_for(kGrantAfterRelease), std::future_status::ready);
  EXPECT_NE(second.get(), "");
}

TEST_F(EtcdServerTest, LockWithUnknownLeaseFails) {
  EtcdReply r = EtcdPost(etcd_.endpoint(), "/v3/lock/lock",
                         {{"name", Base64Encode("x")}, {"lease", "12345"}});
  EXPECT_NE(r.status, 200);
  EXPECT_NE(r.raw.find("lease not found"), std::string::npos) << r.raw;
}

TEST_F(EtcdServerTest, KeepsAPutKeyAcrossKill9AndRestart) {
  EtcdReply put = EtcdPost(etcd_.endpoint(), "/v3/kv/put",
                           {{"key", Base64Encode("agentmesh/k")}, {"value", Base64Encode("v1")}});
  ASSERT_EQ(put.status, 200) << put.raw;
  const std::string endpoint = etcd_.endpoint();

  etcd_.Kill9();
  EXPECT_FALSE(etcd_.Healthy());
  const std::string why = etcd_.Restart();
  ASSERT_EQ(why, "") << why;
  EXPECT_EQ(etcd_.endpoint(), endpoint);

  EtcdReply got =
      EtcdPost(etcd_.endpoint(), "/v3/kv/range", {{"key", Base64Encode("agentmesh/k")}});
  ASSERT_EQ(got.status, 200) << got.raw;
  ASSERT_EQ(got.body.at("kvs").as_array().size(), 1u) << got.raw;
  EXPECT_EQ(Base64Decode(EtcdField(got.body.at("kvs").at(0), "value")), "v1");
}

TEST(Base64Test, RoundTripsEveryPaddingLength) {
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("bench-0"), "YmVuY2gtMA==");
  EXPECT_EQ(Base64Encode("ab"), "YWI=");
  for (const std::string s : {"", "a", "ab", "abc", "abcd", "agentmesh/locks/x\xff"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  }
}

}  // namespace
}  // namespace agentmesh
