#include "agentmesh/coord/coord_store.h"

#include <algorithm>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agentmesh/store/embedded_store.h"
#include "store_test_support.h"

namespace agentmesh::store {
namespace {

using coord::ObjectKind;
using coord::StoredObject;
using testing::TempDir;

std::unique_ptr<EmbeddedStore> OpenOrDie(const TempDir& dir) {
  auto store = EmbeddedStore::Open({.data_dir = dir.str(), .max_batch = 64});
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store ? std::move(*store) : nullptr;
}

core::Status WriteAndWait(coord::CoordStore& store, std::vector<StoredObject> objects) {
  std::promise<core::Status> done;
  auto committed = done.get_future();
  store.Write(std::move(objects), [&done](core::Status s) { done.set_value(std::move(s)); });
  return committed.get();
}

std::vector<std::string> Names(const std::vector<StoredObject>& objects) {
  std::vector<std::string> names;
  for (const auto& o : objects) {
    names.push_back(std::string(coord::ObjectKindName(o.kind)) + ":" + o.name + "=" +
                    o.json.value_or("<none>"));
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(CoordStoreTest, UpsertsAndDeletesSurviveReopen) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir);
    ASSERT_TRUE(WriteAndWait(store->coord(), {{ObjectKind::kSession, "s1", R"({"ttl_ms":1})"},
                                              {ObjectKind::kLock, "a", R"({"holders":[]})"},
                                              {ObjectKind::kCounters, "tokens", R"({"c":1024})"}})
                    .ok());
    ASSERT_TRUE(WriteAndWait(store->coord(), {{ObjectKind::kSession, "s1", R"({"ttl_ms":2})"},
                                              {ObjectKind::kLock, "a", std::nullopt},
                                              {ObjectKind::kLock, "b", R"({"x":1})"}})
                    .ok());
  }
  auto store = OpenOrDie(dir);
  auto all = store->coord().LoadAll();
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(Names(*all), (std::vector<std::string>{R"(counters:tokens={"c":1024})",
                                                    R"(lock:b={"x":1})",
                                                    R"(session:s1={"ttl_ms":2})"}));
}

TEST(CoordStoreTest, SameNameInDifferentKindsAreDistinctObjects) {
  TempDir dir;
  auto store = OpenOrDie(dir);
  ASSERT_TRUE(WriteAndWait(store->coord(), {{ObjectKind::kLock, "x", "1"},
                                            {ObjectKind::kElection, "x", "2"},
                                            {ObjectKind::kBarrier, "x", "3"}})
                  .ok());
  auto all = store->coord().LoadAll();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(Names(*all),
            (std::vector<std::string>{"barrier:x=3", "election:x=2", "lock:x=1"}));
}

TEST(CoordStoreTest, DeletingAnUnknownObjectIsNotAnError) {
  TempDir dir;
  auto store = OpenOrDie(dir);
  EXPECT_TRUE(WriteAndWait(store->coord(), {{ObjectKind::kProposal, "nope", std::nullopt}}).ok());
  auto all = store->coord().LoadAll();
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->empty());
}

}  // namespace
}  // namespace agentmesh::store
