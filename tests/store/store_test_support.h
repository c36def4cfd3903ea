// Helpers for the store tests: a unique temporary data directory, sample instances, and a
// gate that holds the writer thread so that later writes queue up into one batch.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <latch>
#include <string>

#include "agentmesh/core/ids.h"
#include "agentmesh/health/membership_store.h"
#include "agentmesh/store/embedded_store.h"

#include <unistd.h>

namespace agentmesh::store::testing {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("agentmesh-store-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter.fetch_add(1)) + "-" + core::NewRandomId());
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Returns a registration with every field set, so that round trips check them all.
inline health::StoredInstance MakeInstance(const std::string& id) {
  health::StoredInstance instance;
  instance.spec.id = id;
  instance.spec.agent = "ai-agent-orchestrator";
  instance.spec.phase = 2;
  instance.spec.domain = "architecture";
  instance.spec.capabilities = {"plan", "route"};
  instance.spec.address = "127.0.0.1:9000";
  instance.spec.weight = 250;
  instance.spec.metadata = {{"zone", "a"}, {"version", "1.2.3"}};
  instance.state = health::HealthState::kHealthy;
  instance.registered_at = core::WallTime(std::chrono::milliseconds(1'800'000'000'123));
  return instance;
}

// Holds the writer thread inside the `done` of a write until Release(), so writes
// submitted meanwhile are all queued when the writer takes its next batch.
class WriterGate {
 public:
  explicit WriterGate(EmbeddedStore& store) : store_(store) {
    store.membership().Put(MakeInstance("gate"), [this](core::Status) {
      entered_.count_down();
      release_.wait();
    });
    entered_.wait();
  }
  WriterGate(const WriterGate&) = delete;
  WriterGate& operator=(const WriterGate&) = delete;
  // Waits until the gate's write has finished, so the latches are no longer in use.
  ~WriterGate() {
    Release();
    store_.Flush();
  }

  void Release() {
    if (!released_) {
      released_ = true;
      release_.count_down();
    }
  }

 private:
  EmbeddedStore& store_;
  std::latch entered_{1};
  std::latch release_{1};
  bool released_ = false;
};

}  // namespace agentmesh::store::testing
