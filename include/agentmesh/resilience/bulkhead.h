// Bulkhead: bounded concurrency with a priority queue and load shedding, one per agent
// (rules 8.2 traffic shaping, 9.1 isolation, 9.3 graceful degradation).
//
// At most `max_concurrent` calls run; the rest wait in a queue of at most `max_queue`,
// ordered by priority then FIFO. As the queue fills, low and then normal priority calls are
// shed before they queue; when it is completely full, a high or normal call evicts the
// newest queued call of a lower priority. Calls are opaque tickets chosen by the caller.
// Sans-IO and not thread-safe: the caller holds a lock and runs the admitted tickets.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>

#include "agentmesh/core/status.h"

namespace agentmesh::resilience {

enum class Priority : std::uint8_t { kHigh = 0, kNormal = 1, kLow = 2 };

// Returns the priority named "high", "normal" or "low" (case-insensitive); "" is kNormal.
// Returns nullopt for anything else.
std::optional<Priority> ParsePriority(std::string_view text);
// Returns "high", "normal" or "low".
std::string_view PriorityName(Priority priority);

struct BulkheadOptions {
  // Calls running at once.
  int max_concurrent = 64;
  // Calls waiting for a slot.
  int max_queue = 1000;
  // Low priority may queue only while the queue is below this fraction full (50%).
  double low_shed_fraction = 0.5;
  // Normal priority may queue only while the queue is below this fraction full
  // (degradation.shed_threshold: 90%). High priority may fill the queue.
  double normal_shed_fraction = 0.9;
};

// Errors: kInvalidArgument "invalid_bulkhead_options" naming the offending field.
core::Status Validate(const BulkheadOptions& options);

class Bulkhead {
 public:
  enum class Verdict : std::uint8_t {
    kRun,     // a slot was free: run the call now
    kQueued,  // wait; Exit() or Cancel() decides its fate
    kFull,    // queue full and nothing lower to evict: 503 bulkhead_full
    kShed,    // its priority may not queue at this fill level: 503 shed
  };
  struct Admission {
    Verdict verdict;
    // A queued ticket evicted to make room; the caller answers it with 503 shed.
    std::optional<std::uint64_t> evicted;
  };

  explicit Bulkhead(const BulkheadOptions& options = {});

  // Starts call `ticket`: runs it when a slot is free; else queues it if its priority may
  // still queue, else sheds it (kShed). When the queue is completely full, a high or
  // normal call evicts the newest queued call of the lowest lower priority (returned in
  // `evicted`) and is queued; with none lower it gets kFull.
  // Requires: `ticket` is not running or queued.
  Admission TryEnter(std::uint64_t ticket, Priority priority);
  // Ends a running call; returns the queued ticket that now holds the freed slot, if any.
  // Requires: running() > 0.
  std::optional<std::uint64_t> Exit();
  // Removes a queued ticket (its wait timed out or its client left); returns false if it
  // is not queued.
  bool Cancel(std::uint64_t ticket);

  int running() const { return running_; }
  int queued() const { return queued_; }
  int queued(Priority priority) const;
  const BulkheadOptions& options() const { return options_; }

 private:
  static constexpr int kPriorities = 3;

  // Returns whether a call of `priority` may join a queue holding queued_ calls.
  bool MayQueue(Priority priority) const;

  BulkheadOptions options_;
  int running_ = 0;
  int queued_ = 0;
  std::array<std::deque<std::uint64_t>, kPriorities> queues_;
};

}  // namespace agentmesh::resilience
