#include "store/sqlite/group_committer.h"

#include <exception>
#include <utility>

#include "agentmesh/core/check.h"
#include "agentmesh/core/log.h"

namespace agentmesh::store::sqlite {

GroupCommitter::GroupCommitter(std::unique_ptr<Database> db, int max_batch)
    : db_(std::move(db)), max_batch_(static_cast<std::size_t>(max_batch)) {
  AM_CHECK(db_ != nullptr);
  AM_CHECK(max_batch >= 1);
  thread_ = std::thread([this] { Run(); });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
}

void GroupCommitter::Submit(WriteRequest request) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(request));
    ++submitted_;
  }
  work_cv_.notify_one();
}

void GroupCommitter::Flush() {
  std::unique_lock lock(mu_);
  const std::uint64_t target = submitted_;
  flushed_cv_.wait(lock, [&] { return completed_ >= target; });
}

GroupCommitStats GroupCommitter::stats() const {
  return {writes_.load(), transactions_.load(), failures_.load()};
}

void GroupCommitter::Run() {
  std::vector<WriteRequest> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping, and everything queued has been committed
      }
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const core::Status outcome = CommitBatch(batch);
    if (outcome.ok()) {
      writes_ += batch.size();
      transactions_ += 1;
    } else {
      failures_ += batch.size();
      core::log::Error("store write batch failed",
                       {{"writes", batch.size()}, {"error", outcome.ToString()}});
    }
    const core::Status reply =
        outcome.ok()
            ? outcome
            : core::Unavailable("store_write_failed", "the write was not committed (" +
                                                          outcome.ToString() + "); retry it");
    for (WriteRequest& request : batch) {
      if (!request.done) {
        continue;
      }
      try {
        request.done(reply);
      } catch (const std::exception& e) {
        core::log::Error("store write callback threw", {{"error", e.what()}});
      } catch (...) {
        core::log::Error("store write callback threw", {{"error", "unknown exception"}});
      }
    }
    {
      std::lock_guard lock(mu_);
      completed_ += batch.size();
    }
    flushed_cv_.notify_all();
    batch.clear();
  }
}

core::Status GroupCommitter::CommitBatch(std::vector<WriteRequest>& batch) {
  auto tx = Transaction::Begin(*db_, Transaction::Mode::kImmediate);
  if (!tx) {
    return tx.error();
  }
  for (WriteRequest& request : batch) {
    core::Status s;
    try {
      s = request.apply(*db_);
    } catch (const std::exception& e) {
      s = core::Internal("store_write_threw", e.what());
    }
    if (!s.ok()) {
      return s;
    }
  }
  return tx->Commit();
}

}  // namespace agentmesh::store::sqlite
