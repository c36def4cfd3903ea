// Commit throughput of the embedded store: one durable write at a time, and many writers
// sharing transactions through group commit. Items/s = acknowledged (fsynced) writes/s.
#include <future>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "agentmesh/store/embedded_store.h"

#include "store/store_test_support.h"

namespace agentmesh::store {
namespace {

// Distinct ids per thread, reused so the table stays small.
constexpr int kIdsPerThread = 1000;

// Shared by the threads of one multi-threaded run; thread 0 sets it up and tears it down.
std::unique_ptr<testing::TempDir> g_dir;
std::unique_ptr<EmbeddedStore> g_store;

// Puts one registration and waits until it is committed.
bool PutAndWait(EmbeddedStore& store, health::StoredInstance& instance, int thread, int i) {
  instance.spec.id = "agent-" + std::to_string(thread) + "-" + std::to_string(i % kIdsPerThread);
  std::promise<core::Status> committed;
  std::future<core::Status> result = committed.get_future();
  store.membership().Put(instance,
                         [&committed](core::Status s) { committed.set_value(std::move(s)); });
  return result.get().ok();
}

// Reads `store` only inside the loop, which starts with a barrier across threads.
void RunPuts(benchmark::State& state, const std::unique_ptr<EmbeddedStore>& store) {
  health::StoredInstance instance = testing::MakeInstance("agent");
  int i = 0;
  for (auto _ : state) {
    if (store == nullptr) {
      state.SkipWithError("the store could not be opened");
      break;
    }
    if (!PutAndWait(*store, instance, state.thread_index(), i++)) {
      state.SkipWithError("a write failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_EmbeddedStore_PutDurable(benchmark::State& state) {
  testing::TempDir dir;
  auto opened = EmbeddedStore::Open({.data_dir = dir.str()});
  const std::unique_ptr<EmbeddedStore> store = opened ? std::move(*opened) : nullptr;
  RunPuts(state, store);
}
BENCHMARK(BM_EmbeddedStore_PutDurable)->UseRealTime();

void BM_EmbeddedStore_PutGroupCommit(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_dir = std::make_unique<testing::TempDir>();
    auto store = EmbeddedStore::Open({.data_dir = g_dir->str()});
    g_store = store ? std::move(*store) : nullptr;
  }
  RunPuts(state, g_store);
  if (state.thread_index() == 0) {
    if (g_store != nullptr) {
      const EmbeddedStoreStats stats = g_store->stats();
      state.counters["writes_per_txn"] =
          stats.transactions == 0
              ? 0.0
              : static_cast<double>(stats.writes) / static_cast<double>(stats.transactions);
    }
    g_store.reset();
    g_dir.reset();
  }
}
BENCHMARK(BM_EmbeddedStore_PutGroupCommit)->Threads(8)->UseRealTime();

}  // namespace
}  // namespace agentmesh::store
