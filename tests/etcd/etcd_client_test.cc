#include "agentmesh/etcd/etcd_client.h"

#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>

#include "etcd/etcd_test_support.h"

namespace agentmesh::etcd {
namespace {

using testing::EtcdTest;
using testing::UniquePrefix;

constexpr std::int64_t kLeaseTtl = 30;

std::vector<std::string> Keys(const std::vector<KeyValue>& kvs) {
  std::vector<std::string> out;
  for (const KeyValue& kv : kvs) {
    out.push_back(kv.key);
  }
  return out;
}

TEST(PrefixEndTest, IncrementsTheLastByteBelowFf) {
  EXPECT_EQ(PrefixEnd("a/"), "a0");
  EXPECT_EQ(PrefixEnd("ab"), "ac");
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
}

TEST(EtcdClientOptionsTest, ValidateRequiresHttpHostPortEndpoints) {
  EtcdClientOptions options;
  EXPECT_EQ(Validate(options).reason(), "invalid_etcd_endpoint");
  options.endpoints = {"http://127.0.0.1:2379"};
  EXPECT_TRUE(Validate(options).ok());
  options.endpoints.push_back("127.0.0.1:2379");
  EXPECT_EQ(Validate(options).code(), core::StatusCode::kInvalidArgument);
  options.endpoints = {"https://127.0.0.1:2379"};
  EXPECT_EQ(Validate(options).reason(), "invalid_etcd_endpoint");
  options.endpoints = {"http://127.0.0.1:2379/v3"};
  EXPECT_EQ(Validate(options).reason(), "invalid_etcd_endpoint");
}

using EtcdClientTest = EtcdTest;

TEST_F(EtcdClientTest, LeaseGrantKeepAliveTimeToLiveThenRevokeDeletesAttachedKeys) {
  const std::string key = UniquePrefix("lease") + "k";
  auto lease = Run([&] { return client_->LeaseGrant(kLeaseTtl); });
  ASSERT_TRUE(lease) << lease.error().ToString();
  EXPECT_GT(lease->id, 0);
  EXPECT_EQ(lease->ttl_seconds, kLeaseTtl);
  const std::int64_t id = lease->id;

  auto renewed = Run([&] { return client_->LeaseKeepAliveOnce(id); });
  ASSERT_TRUE(renewed) << renewed.error().ToString();
  EXPECT_EQ(renewed->id, id);
  EXPECT_EQ(renewed->ttl_seconds, kLeaseTtl);

  auto ttl = Run([&] { return client_->LeaseTimeToLive(id); });
  ASSERT_TRUE(ttl) << ttl.error().ToString();
  EXPECT_EQ(ttl->granted_ttl_seconds, kLeaseTtl);
  EXPECT_GT(ttl->ttl_seconds, 0);
  EXPECT_LE(ttl->ttl_seconds, kLeaseTtl);

  const std::string value = "owner";
  auto put = Run([&] { return client_->Put(key, value, id); });
  ASSERT_TRUE(put) << put.error().ToString();
  RangeRequest get;
  get.key = key;
  auto before = Run([&] { return client_->Range(get); });
  ASSERT_TRUE(before) << before.error().ToString();
  ASSERT_EQ(before->kvs.size(), 1u);
  EXPECT_EQ(before->kvs[0].lease, id);

  auto revoked = Run([&] { return client_->LeaseRevoke(id); });
  ASSERT_TRUE(revoked) << revoked.error().ToString();
  EXPECT_GT(*revoked, *put);
  auto after = Run([&] { return client_->Range(get); });
  ASSERT_TRUE(after) << after.error().ToString();
  EXPECT_TRUE(after->kvs.empty());

  auto keepalive = Run([&] { return client_->LeaseKeepAliveOnce(id); });
  ASSERT_FALSE(keepalive);
  EXPECT_EQ(keepalive.error().code(), core::StatusCode::kNotFound);
  EXPECT_EQ(keepalive.error().reason(), "lease_not_found");
  auto gone = Run([&] { return client_->LeaseTimeToLive(id); });
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().reason(), "lease_not_found");
  auto again = Run([&] { return client_->LeaseRevoke(id); });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().reason(), "lease_not_found");
}

TEST_F(EtcdClientTest, LeaseGrantWithChosenIdAndPutOnUnknownLease) {
  const std::int64_t id = 7000000 + std::hash<std::string>{}(UniquePrefix("id")) % 1000000;
  auto lease = Run([&] { return client_->LeaseGrant(kLeaseTtl, id); });
  ASSERT_TRUE(lease) << lease.error().ToString();
  EXPECT_EQ(lease->id, id);
  auto duplicate = Run([&] { return client_->LeaseGrant(kLeaseTtl, id); });
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().reason(), "etcd_error");
  EXPECT_NE(duplicate.error().message().find("lease already exists"), std::string::npos);
  auto revoked = Run([&] { return client_->LeaseRevoke(id); });
  ASSERT_TRUE(revoked) << revoked.error().ToString();

  const std::string key = UniquePrefix("lease") + "k";
  const std::string value = "v";
  auto put = Run([&] { return client_->Put(key, value, id); });
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().reason(), "lease_not_found");
}

TEST_F(EtcdClientTest, RangeByPrefixSortsByCreateRevisionWithLimitAndBound) {
  const std::string prefix = UniquePrefix("range");
  std::vector<std::int64_t> revisions;
  for (const char* name : {"a", "c", "b"}) {
    const std::string key = prefix + name;
    const std::string value = std::string("value-") + name;
    auto put = Run([&] { return client_->Put(key, value); });
    ASSERT_TRUE(put) << put.error().ToString();
    revisions.push_back(*put);
  }
  const std::string outside = PrefixEnd(prefix);
  const std::string outside_value = "outside";
  ASSERT_TRUE(Run([&] { return client_->Put(outside, outside_value); }));

  RangeRequest request;
  request.key = prefix;
  request.range_end = PrefixEnd(prefix);
  request.sort = RangeRequest::Sort::kCreateAscend;
  auto ascending = Run([&] { return client_->Range(request); });
  ASSERT_TRUE(ascending) << ascending.error().ToString();
  EXPECT_EQ(Keys(ascending->kvs),
            (std::vector<std::string>{prefix + "a", prefix + "c", prefix + "b"}));
  EXPECT_EQ(ascending->count, 3);
  EXPECT_GE(ascending->revision, revisions.back());
  EXPECT_EQ(ascending->kvs[1].value, "value-c");
  EXPECT_EQ(ascending->kvs[1].create_revision, revisions[1]);
  EXPECT_EQ(ascending->kvs[1].mod_revision, revisions[1]);
  EXPECT_EQ(ascending->kvs[1].version, 1);

  request.sort = RangeRequest::Sort::kCreateDescend;
  request.limit = 1;
  auto last = Run([&] { return client_->Range(request); });
  ASSERT_TRUE(last) << last.error().ToString();
  EXPECT_EQ(Keys(last->kvs), (std::vector<std::string>{prefix + "b"}));
  EXPECT_EQ(last->count, 3);

  request.limit = 0;
  request.sort = RangeRequest::Sort::kCreateAscend;
  request.max_create_revision = revisions[1];
  auto bounded = Run([&] { return client_->Range(request); });
  ASSERT_TRUE(bounded) << bounded.error().ToString();
  EXPECT_EQ(Keys(bounded->kvs), (std::vector<std::string>{prefix + "a", prefix + "c"}));

  RangeRequest count;
  count.key = prefix;
  count.range_end = PrefixEnd(prefix);
  count.count_only = true;
  auto counted = Run([&] { return client_->Range(count); });
  ASSERT_TRUE(counted) << counted.error().ToString();
  EXPECT_TRUE(counted->kvs.empty());
  EXPECT_EQ(counted->count, 3);

  auto now = Run([&] { return client_->CurrentRevision(); });
  ASSERT_TRUE(now) << now.error().ToString();
  EXPECT_GT(*now, revisions.back());
}

TEST_F(EtcdClientTest, BinaryKeysAndValuesRoundTrip) {
  const std::string key = UniquePrefix("binary") + std::string("\x00\xff\x01", 3);
  const std::string value("\xfe\x00\n{\"x\"", 6);
  ASSERT_TRUE(Run([&] { return client_->Put(key, value); }));
  RangeRequest get;
  get.key = key;
  auto got = Run([&] { return client_->Range(get); });
  ASSERT_TRUE(got) << got.error().ToString();
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_EQ(got->kvs[0].key, key);
  EXPECT_EQ(got->kvs[0].value, value);
}

TEST_F(EtcdClientTest, TxnCreateIfAbsentTakesSuccessThenFailureBranch) {
  const std::string key = UniquePrefix("txn") + "lock";
  TxnRequest txn;
  Compare absent;
  absent.key = key;
  absent.target = Compare::Target::kCreateRevision;
  absent.result = Compare::Result::kEqual;
  absent.number = 0;
  txn.compare.push_back(absent);
  txn.success.push_back(Op::Put(key, "first"));
  txn.failure.push_back(Op::Get(key));

  auto won = Run([&] { return client_->Txn(txn); });
  ASSERT_TRUE(won) << won.error().ToString();
  EXPECT_TRUE(won->succeeded);
  ASSERT_EQ(won->responses.size(), 1u);
  EXPECT_TRUE(won->responses[0].kvs.empty());

  txn.success = {Op::Put(key, "second")};
  txn.failure.push_back(Op::Delete(key));
  auto lost = Run([&] { return client_->Txn(txn); });
  ASSERT_TRUE(lost) << lost.error().ToString();
  EXPECT_FALSE(lost->succeeded);
  EXPECT_GT(lost->revision, won->revision);
  ASSERT_EQ(lost->responses.size(), 2u);
  ASSERT_EQ(lost->responses[0].kvs.size(), 1u);
  EXPECT_EQ(lost->responses[0].kvs[0].value, "first");
  EXPECT_EQ(lost->responses[0].kvs[0].create_revision, won->revision);
  EXPECT_EQ(lost->responses[1].deleted, 1);

  Compare value_is;
  value_is.key = key;
  value_is.target = Compare::Target::kValue;
  value_is.value = "first";
  TxnRequest on_value;
  on_value.compare.push_back(value_is);
  auto no_key = Run([&] { return client_->Txn(on_value); });
  ASSERT_TRUE(no_key) << no_key.error().ToString();
  EXPECT_FALSE(no_key->succeeded);
  EXPECT_TRUE(no_key->responses.empty());
}

TEST_F(EtcdClientTest, DeleteReturnsHowManyKeysWentAway) {
  const std::string prefix = UniquePrefix("delete");
  for (const char* name : {"x", "y", "z"}) {
    const std::string key = prefix + name;
    const std::string value = "v";
    ASSERT_TRUE(Run([&] { return client_->Put(key, value); }));
  }
  const std::string single = prefix + "x";
  auto one = Run([&] { return client_->Delete(single); });
  ASSERT_TRUE(one) << one.error().ToString();
  EXPECT_EQ(*one, 1);
  auto none = Run([&] { return client_->Delete(single); });
  ASSERT_TRUE(none) << none.error().ToString();
  EXPECT_EQ(*none, 0);
  const std::string end = PrefixEnd(prefix);
  auto rest = Run([&] { return client_->Delete(prefix, end); });
  ASSERT_TRUE(rest) << rest.error().ToString();
  EXPECT_EQ(*rest, 2);
}

TEST_F(EtcdClientTest, ACallOwnsItsArgumentsUntilItRuns) {
  const std::string prefix = UniquePrefix("owns");
  auto pending_put = client_->Put(prefix + "k", std::string("value"));
  TxnRequest txn;
  txn.success.push_back(Op::Get(prefix + "k"));
  auto pending_txn = client_->Txn(txn);
  txn = TxnRequest();
  auto put = Run([&] { return std::move(pending_put); });
  ASSERT_TRUE(put) << put.error().ToString();
  auto got = Run([&] { return std::move(pending_txn); });
  ASSERT_TRUE(got) << got.error().ToString();
  ASSERT_EQ(got->responses.size(), 1u);
  ASSERT_EQ(got->responses[0].kvs.size(), 1u);
  EXPECT_EQ(got->responses[0].kvs[0].value, "value");
}

TEST_F(EtcdClientTest, ManyConcurrentCallsAllSucceed) {
  constexpr int kCalls = 64;
  const std::string prefix = UniquePrefix("concurrent");
  int succeeded = 0;
  std::vector<std::string> keys;
  for (int i = 0; i < kCalls; ++i) {
    keys.push_back(prefix + std::to_string(i));
  }
  const std::string value = "v";
  for (int i = 0; i < kCalls; ++i) {
    boost::asio::co_spawn(
        ioc_,
        [&, i]() -> boost::asio::awaitable<void> {
          auto put = co_await client_->Put(keys[i], value);
          if (put) {
            ++succeeded;
          }
        },
        boost::asio::detached);
  }
  ioc_.run();
  EXPECT_EQ(succeeded, kCalls);
  RangeRequest count;
  count.key = prefix;
  count.range_end = PrefixEnd(prefix);
  count.count_only = true;
  auto counted = Run([&] { return client_->Range(count); });
  ASSERT_TRUE(counted) << counted.error().ToString();
  EXPECT_EQ(counted->count, kCalls);
}

}  // namespace
}  // namespace agentmesh::etcd
