// HistoryRecorder: collects the operations concurrent clients perform, with call and return
// times, as a history for the linearizability checker (testing/linearizability.h).
//
// Test-only and header-only. Thread-safe: clients call Begin()/End() from any thread. Ops
// that never End() (the client gave up, the server was killed mid-call) stay unknown.
#pragma once

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

#include "agentmesh/core/check.h"
#include "agentmesh/core/clock.h"

#include "testing/linearizability.h"

namespace agentmesh::testing {

template <typename Model>
class HistoryRecorder {
 public:
  using Handle = std::size_t;

  // Reads call and return times from `clock` (steady time); it must outlive the recorder.
  explicit HistoryRecorder(const core::Clock& clock = core::SystemClock::Instance())
      : clock_(clock) {}

  // Records that `client` is about to send `input`; call it before the request goes out.
  Handle Begin(int client, typename Model::Input input) {
    std::lock_guard lock(mu_);
    Op<Model> op;
    op.client = client;
    op.input = std::move(input);
    op.call = clock_.Now();
    ops_.push_back(std::move(op));
    return ops_.size() - 1;
  }

  // Records the answer to the op `handle`; call it after the response arrived.
  // Requires: `handle` came from Begin() since the last Take() and has not ended yet.
  void End(Handle handle, typename Model::Output output) {
    std::lock_guard lock(mu_);
    AM_CHECK_MSG(handle < ops_.size(), "HistoryRecorder::End: unknown handle");
    Op<Model>& op = ops_[handle];
    AM_CHECK_MSG(!op.ret, "HistoryRecorder::End: op already ended");
    op.output = std::move(output);
    op.ret = clock_.Now();
  }

  // Returns the history recorded so far and starts a new one.
  std::vector<Op<Model>> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(ops_, {});
  }

 private:
  const core::Clock& clock_;
  std::mutex mu_;
  std::vector<Op<Model>> ops_;
};

}  // namespace agentmesh::testing
