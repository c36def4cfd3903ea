// GroupCommitter: the one writer thread of the embedded store.
//
// Internal to store/sqlite. It owns the writer connection. Submit() queues a write and
// returns at once; the thread takes everything queued (up to max_batch), applies it in
// one BEGIN IMMEDIATE .. COMMIT transaction, and then completes each write's `done` with
// the batch's outcome: all writes of a batch commit together or fail together
// ("store_write_failed"). Writes are applied in submission order. The destructor
// commits what is queued, then stops and joins the thread. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "agentmesh/core/status.h"

#include "store/sqlite/database.h"

namespace agentmesh::store::sqlite {

struct WriteRequest {
  // Applies the change inside the batch's transaction, on the writer thread. A failure
  // fails the whole batch.
  std::function<core::Status(Database&)> apply;
  // Completed after the batch committed or failed; may be empty.
  std::function<void(core::Status)> done;
};

struct GroupCommitStats {
  std::uint64_t writes = 0;
  std::uint64_t transactions = 0;
  std::uint64_t failures = 0;
};

class GroupCommitter {
 public:
  // Takes the writer connection and starts the writer thread.
  // Requires: max_batch >= 1.
  GroupCommitter(std::unique_ptr<Database> db, int max_batch);
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;
  ~GroupCommitter();

  // Queues `request`; returns at once.
  void Submit(WriteRequest request);
  // Blocks until every write submitted before this call is committed or failed.
  // Requires: not called from a `done` callback (that would wait for itself).
  void Flush();
  GroupCommitStats stats() const;

 private:
  void Run();
  core::Status CommitBatch(std::vector<WriteRequest>& batch);

  std::unique_ptr<Database> db_;  // used by the writer thread only
  const std::size_t max_batch_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;     // signalled when work arrives or on stop
  std::condition_variable flushed_cv_;  // signalled when a batch completes
  std::deque<WriteRequest> queue_;
  std::uint64_t submitted_ = 0;  // writes ever submitted
  std::uint64_t completed_ = 0;  // writes whose batch finished
  bool stopping_ = false;

  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> transactions_{0};
  std::atomic<std::uint64_t> failures_{0};

  std::thread thread_;  // last: starts after everything above is initialised
};

}  // namespace agentmesh::store::sqlite
