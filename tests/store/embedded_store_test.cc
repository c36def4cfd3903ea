#include "agentmesh/store/embedded_store.h"

#include <deque>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/sqlite/database.h"
#include "store_test_support.h"

namespace agentmesh::store {
namespace {

using health::HealthState;
using health::StoredInstance;
using testing::MakeInstance;
using testing::TempDir;
using testing::WriterGate;

std::unique_ptr<EmbeddedStore> OpenOrDie(const TempDir& dir, int max_batch = 1024) {
  auto store = EmbeddedStore::Open({.data_dir = dir.str(), .max_batch = max_batch});
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store ? std::move(*store) : nullptr;
}

// Opens a side connection to the store's file, as another process would.
std::unique_ptr<sqlite::Database> SideConnection(const TempDir& dir) {
  auto db = sqlite::Database::Open((dir.path() / "agentmesh.db").string(), false);
  EXPECT_TRUE(db.has_value());
  EXPECT_TRUE((*db)->Exec("PRAGMA busy_timeout = 5000").ok());
  return std::move(*db);
}

// Records the status each write completed with. A deque keeps each slot in place while
// the writer thread fills earlier ones; read the slots after Flush().
struct Acks {
  std::deque<core::Status> statuses;
  health::MembershipStore::Done Next() {
    core::Status* slot = &statuses.emplace_back(core::StatusCode::kUnknown, "not_completed", "");
    return [slot](core::Status s) { *slot = std::move(s); };
  }
};

std::vector<std::string> Ids(const std::vector<StoredInstance>& instances) {
  std::vector<std::string> ids;
  for (const auto& instance : instances) {
    ids.push_back(instance.spec.id);
  }
  return ids;
}

TEST(EmbeddedStoreTest, PutUpdateStateAndRemoveSurviveReopen) {
  TempDir dir;
  StoredInstance a = MakeInstance("a");
  StoredInstance b = MakeInstance("b");
  {
    auto store = OpenOrDie(dir);
    Acks acks;
    store->membership().Put(a, acks.Next());
    store->membership().Put(b, acks.Next());
    store->membership().Put(MakeInstance("c"), acks.Next());
    a.spec.weight = 7;
    a.spec.metadata["zone"] = "b";
    store->membership().Put(a, acks.Next());
    store->membership().PutState("b", HealthState::kUnhealthy, acks.Next());
    store->membership().Remove("c", acks.Next());
    store->Flush();
    for (const core::Status& s : acks.statuses) {
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    EXPECT_EQ(store->stats().writes, 6u);
    EXPECT_EQ(store->stats().failures, 0u);
  }
  b.state = HealthState::kUnhealthy;
  auto store = OpenOrDie(dir);
  auto loaded = store->membership().LoadAll();
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].spec, a.spec);
  EXPECT_EQ((*loaded)[0].state, HealthState::kHealthy);
  EXPECT_EQ((*loaded)[0].registered_at, a.registered_at);
  EXPECT_EQ((*loaded)[1].spec, b.spec);
  EXPECT_EQ((*loaded)[1].state, HealthState::kUnhealthy);
}

TEST(EmbeddedStoreTest, WritesInOneBatchApplyInSubmissionOrder) {
  TempDir dir;
  auto store = OpenOrDie(dir);
  Acks acks;
  {
    WriterGate gate(*store);
    store->membership().Put(MakeInstance("x"), acks.Next());
    store->membership().Remove("x", acks.Next());
    store->membership().Remove("y", acks.Next());
    store->membership().Put(MakeInstance("y"), acks.Next());
  }
  for (const core::Status& s : acks.statuses) {
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ(store->stats().transactions, 2u);  // the gate's, then one for all four
  auto loaded = store->membership().LoadAll();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(Ids(*loaded), (std::vector<std::string>{"gate", "y"}));
}

TEST(EmbeddedStoreTest, StateAndRemoveOfUnknownIdSucceedWithoutEffect) {
  TempDir dir;
  auto store = OpenOrDie(dir);
  Acks acks;
  store->membership().PutState("ghost", HealthState::kSuspect, acks.Next());
  store->membership().Remove("ghost", acks.Next());
  store->Flush();
  EXPECT_TRUE(acks.statuses[0].ok());
  EXPECT_TRUE(acks.statuses[1].ok());
  auto loaded = store->membership().LoadAll();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(loaded->empty());
}

TEST(EmbeddedStoreTest, DestructorCommitsQueuedWrites) {
  TempDir dir;
  Acks acks;
  {
    auto store = OpenOrDie(dir);
    for (int i = 0; i < 100; ++i) {
      store->membership().Put(MakeInstance("agent-" + std::to_string(i)), acks.Next());
    }
  }
  for (const core::Status& s : acks.statuses) {
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  auto store = OpenOrDie(dir);
  auto loaded = store->membership().LoadAll();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->size(), 100u);
}

TEST(EmbeddedStoreTest, FailedBatchFailsEveryWriteAndCommitsNone) {
  TempDir dir;
  auto store = OpenOrDie(dir);
  ASSERT_TRUE(SideConnection(dir)
                  ->Exec("CREATE TRIGGER reject_bad BEFORE INSERT ON agents "
                         "WHEN NEW.id = 'bad' BEGIN SELECT RAISE(ABORT, 'rejected'); END")
                  .ok());
  Acks acks;
  {
    WriterGate gate(*store);
    store->membership().Put(MakeInstance("good"), acks.Next());
    store->membership().Put(MakeInstance("bad"), acks.Next());
  }
  for (const core::Status& s : acks.statuses) {
    EXPECT_EQ(s.code(), core::StatusCode::kUnavailable);
    EXPECT_EQ(s.reason(), "store_write_failed");
  }
  EXPECT_EQ(store->stats().failures, 2u);
  auto loaded = store->membership().LoadAll();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(Ids(*loaded), (std::vector<std::string>{"gate"}));

  store->membership().Put(MakeInstance("good"), acks.Next());
  store->Flush();
  EXPECT_TRUE(acks.statuses.back().ok());
}

TEST(EmbeddedStoreTest, ConcurrentWritesShareTransactions) {
  TempDir dir;
  auto store = OpenOrDie(dir);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 125;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kPerThread; ++i) {
        store->membership().Put(MakeInstance("t" + std::to_string(t) + "-" + std::to_string(i)),
                                nullptr);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  store->Flush();
  const EmbeddedStoreStats stats = store->stats();
  EXPECT_EQ(stats.writes, 1000u);
  EXPECT_LT(stats.transactions, stats.writes / 4);
  auto loaded = store->membership().LoadAll();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->size(), 1000u);
}

TEST(EmbeddedStoreTest, BatchesNeverExceedMaxBatch) {
  TempDir dir;
  auto store = OpenOrDie(dir, /*max_batch=*/100);
  {
    WriterGate gate(*store);
    for (int i = 0; i < 1000; ++i) {
      store->membership().Put(MakeInstance("agent-" + std::to_string(i)), nullptr);
    }
  }
  EXPECT_EQ(store->stats().writes, 1001u);
  EXPECT_EQ(store->stats().transactions, 11u);  // the gate's, then ten full batches
}

TEST(EmbeddedStoreTest, NodeIdIsGeneratedOnceAndPersisted) {
  TempDir dir;
  std::string first;
  {
    auto store = OpenOrDie(dir);
    auto id = store->NodeId("");
    ASSERT_TRUE(id.has_value()) << id.error().ToString();
    EXPECT_EQ(id->size(), 16u);
    first = *id;
    EXPECT_EQ(store->NodeId(""), first);
  }
  auto store = OpenOrDie(dir);
  EXPECT_EQ(store->NodeId(""), first);
}

TEST(EmbeddedStoreTest, ConfiguredNodeIdWinsAndIsPersisted) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir);
    ASSERT_TRUE(store->NodeId("").has_value());
    EXPECT_EQ(store->NodeId("node-a"), "node-a");
  }
  auto store = OpenOrDie(dir);
  EXPECT_EQ(store->NodeId(""), "node-a");
  EXPECT_EQ(store->NodeId("node-b"), "node-b");
}

TEST(EmbeddedStoreTest, InvalidConfiguredNodeIdIsRejected) {
  TempDir dir;
  auto store = OpenOrDie(dir);
  auto id = store->NodeId("bad id!");
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code(), core::StatusCode::kInvalidArgument);
}

TEST(EmbeddedStoreTest, GarbageDatabaseFileFailsOpenWithDataLoss) {
  TempDir dir;
  {
    std::ofstream out(dir.path() / "agentmesh.db", std::ios::binary);
    out << std::string(8192, 'x');
  }
  auto store = EmbeddedStore::Open({.data_dir = dir.str()});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), core::StatusCode::kDataLoss);
  EXPECT_EQ(store.error().reason(), "store_corrupt");
}

TEST(EmbeddedStoreTest, DataDirThatIsAFileFailsOpenWithUnavailable) {
  TempDir dir;
  const auto file = dir.path() / "not-a-dir";
  std::ofstream(file) << "x";
  auto store = EmbeddedStore::Open({.data_dir = file.string()});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(store.error().reason(), "store_unavailable");
}

TEST(EmbeddedStoreTest, MissingDataDirIsCreated) {
  TempDir dir;
  auto store = EmbeddedStore::Open({.data_dir = (dir.path() / "a" / "b").string()});
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "a" / "b" / "agentmesh.db"));
}

TEST(EmbeddedStoreTest, ZeroMaxBatchIsRejected) {
  TempDir dir;
  auto store = EmbeddedStore::Open({.data_dir = dir.str(), .max_batch = 0});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), core::StatusCode::kInvalidArgument);
}

TEST(EmbeddedStoreTest, UnreadableStoredSpecFailsLoadWithDataLoss) {
  TempDir dir;
  auto store = OpenOrDie(dir);
  ASSERT_TRUE(SideConnection(dir)
                  ->Exec("INSERT INTO agents(id, spec, state, registered_at_ms) "
                         "VALUES('x', 'not json', 'healthy', 0)")
                  .ok());
  auto loaded = store->membership().LoadAll();
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code(), core::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace agentmesh::store
