// The etcd backend's key and value codecs: session ids as etcd spells leases, lock values
// (ours and etcdctl's empty ones), barrier and proposal records.
#include <gtest/gtest.h>

#include "server/etcd_coord_internal.h"

namespace agentmesh::server::etcd_coord {
namespace {

TEST(LeaseHexTest, RoundTripsAsEtcdSpellsLeaseIdsInKeys) {
  // concurrency.Mutex names its key fmt.Sprintf("%s%x", prefix, lease).
  EXPECT_EQ(LeaseHex(0x694d7a1b2c3d4e5f), "694d7a1b2c3d4e5f");
  EXPECT_EQ(LeaseHex(0x1f), "1f");
  EXPECT_EQ(ParseLeaseHex("694d7a1b2c3d4e5f"), 0x694d7a1b2c3d4e5f);
  EXPECT_EQ(ParseLeaseHex(LeaseHex(7)), 7);
}

TEST(LeaseHexTest, RejectsWhatNamesNoLease) {
  for (const char* bad : {"", "0", "00ff", "ABC", "xyz", "1f/2", "12345678901234567"}) {
    EXPECT_FALSE(ParseLeaseHex(bad).has_value()) << bad;
  }
}

TEST(LockValueTest, EmptyValueIsAnExclusiveHolderWithoutLimit) {
  // What etcdctl lock (concurrency.Mutex) writes.
  const LockValue v = ParseLockValue("");
  EXPECT_FALSE(v.ours);
  EXPECT_EQ(v.mode, coord::LockMode::kExclusive);
  EXPECT_EQ(v.hold_until_ms, 0);
}

TEST(LockValueTest, OursRoundTrips) {
  LockValue v;
  v.mode = coord::LockMode::kShared;
  v.agent = "ai-backend-developer";
  v.granted = true;
  v.hold_until_ms = 1795752436744;
  v.renewals = 3;
  const LockValue back = ParseLockValue(EncodeLockValue(v));
  EXPECT_TRUE(back.ours);
  EXPECT_EQ(back.mode, coord::LockMode::kShared);
  EXPECT_EQ(back.agent, "ai-backend-developer");
  EXPECT_TRUE(back.granted);
  EXPECT_EQ(back.hold_until_ms, 1795752436744);
  EXPECT_EQ(back.renewals, 3);
}

std::string Lock(coord::LockMode mode, bool granted, long long wait_until_ms = 0) {
  LockValue v;
  v.mode = mode;
  v.agent = "a";
  v.granted = granted;
  v.wait_until_ms = wait_until_ms;
  return EncodeLockValue(v);
}

TEST(LockQueueTest, EtcdctlKeyHoldsAndOursWaitBehindIt) {
  const std::string etcdctl;  // concurrency.Mutex's empty value
  const std::string ours = Lock(coord::LockMode::kExclusive, false, 10'000);
  const std::vector<std::string_view> q{etcdctl, ours};
  EXPECT_EQ(Roles(q, 1'000), (std::vector<KeyRole>{KeyRole::kHolder, KeyRole::kWaiter}));
  EXPECT_TRUE(FirstInLine(q, 0, coord::LockMode::kShared, 1'000));
  EXPECT_FALSE(FirstInLine(q, 1, coord::LockMode::kExclusive, 1'000));
}

TEST(LockQueueTest, OnlyGrantedKeysOfOursHold) {
  // A waiting lock set's shared key first in line holds nothing yet; a granted shared
  // key behind it holds.
  const std::string set_key = Lock(coord::LockMode::kShared, false, 10'000);
  const std::string granted = Lock(coord::LockMode::kShared, true);
  const std::string exclusive = Lock(coord::LockMode::kExclusive, false, 10'000);
  const std::vector<std::string_view> q{set_key, granted, exclusive};
  EXPECT_EQ(Roles(q, 1'000),
            (std::vector<KeyRole>{KeyRole::kWaiter, KeyRole::kHolder, KeyRole::kWaiter}));
  EXPECT_TRUE(FirstInLine(q, 1, coord::LockMode::kShared, 1'000));
  EXPECT_FALSE(FirstInLine(q, 2, coord::LockMode::kExclusive, 1'000));
}

TEST(LockQueueTest, AWaitingKeyPastItsWaitAndGraceIsPassedOver) {
  const std::string dead = Lock(coord::LockMode::kExclusive, false, 1'000);
  const std::string next = Lock(coord::LockMode::kExclusive, true);
  const std::vector<std::string_view> q{dead, next};
  // Within the grace it still blocks; after it, it is an orphan.
  const long long within = 1'000 + kOrphanGraceMs;
  EXPECT_EQ(Roles(q, within), (std::vector<KeyRole>{KeyRole::kWaiter, KeyRole::kWaiter}));
  EXPECT_FALSE(FirstInLine(q, 1, coord::LockMode::kExclusive, within));
  EXPECT_EQ(Roles(q, within + 1), (std::vector<KeyRole>{KeyRole::kOrphan, KeyRole::kHolder}));
  EXPECT_TRUE(FirstInLine(q, 1, coord::LockMode::kExclusive, within + 1));
}

TEST(RecordTest, RoundTripsAndRejectsForeignValues) {
  const boost::json::object snapshot{{"participants", boost::json::array{"a", "b"}}};
  auto back = ParseRecord(EncodeRecord(snapshot, 1234));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->snapshot, snapshot);
  EXPECT_EQ(back->written_ms, 1234);
  for (const char* bad :
       {"", "x", "[]", "{}", R"({"state":1,"written_ms":2})", R"({"state":{},"written_ms":"2"})"}) {
    EXPECT_FALSE(ParseRecord(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace agentmesh::server::etcd_coord
