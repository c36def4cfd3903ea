#include "agentmesh/resilience/bulkhead.h"

#include <algorithm>
#include <string>

#include "agentmesh/core/check.h"

namespace agentmesh::resilience {
namespace {

core::Status InvalidOptions(std::string message) {
  return core::InvalidArgument("invalid_bulkhead_options", std::move(message));
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

std::size_t Index(Priority priority) { return static_cast<std::size_t>(priority); }

}  // namespace

std::optional<Priority> ParsePriority(std::string_view text) {
  if (text.empty() || EqualsIgnoreCase(text, "normal")) {
    return Priority::kNormal;
  }
  if (EqualsIgnoreCase(text, "high")) {
    return Priority::kHigh;
  }
  if (EqualsIgnoreCase(text, "low")) {
    return Priority::kLow;
  }
  return std::nullopt;
}

std::string_view PriorityName(Priority priority) {
  switch (priority) {
    case Priority::kHigh:
      return "high";
    case Priority::kNormal:
      return "normal";
    case Priority::kLow:
      return "low";
  }
  return "unknown";
}

core::Status Validate(const BulkheadOptions& options) {
  if (options.max_concurrent < 1) {
    return InvalidOptions("max_concurrent must be at least 1");
  }
  if (options.max_queue < 0) {
    return InvalidOptions("max_queue must not be negative");
  }
  if (!(options.low_shed_fraction >= 0.0 && options.low_shed_fraction <= 1.0)) {
    return InvalidOptions("low_shed_fraction must be within [0, 1]");
  }
  if (!(options.normal_shed_fraction >= 0.0 && options.normal_shed_fraction <= 1.0)) {
    return InvalidOptions("normal_shed_fraction must be within [0, 1]");
  }
  if (options.low_shed_fraction > options.normal_shed_fraction) {
    return InvalidOptions("low_shed_fraction must not exceed normal_shed_fraction");
  }
  return core::OkStatus();
}

Bulkhead::Bulkhead(const BulkheadOptions& options) : options_(options) {}

bool Bulkhead::MayQueue(Priority priority) const {
  if (queued_ >= options_.max_queue) {
    return false;
  }
  switch (priority) {
    case Priority::kHigh:
      return true;
    case Priority::kNormal:
      return queued_ < options_.normal_shed_fraction * options_.max_queue;
    case Priority::kLow:
      return queued_ < options_.low_shed_fraction * options_.max_queue;
  }
  return false;
}

Bulkhead::Admission Bulkhead::TryEnter(std::uint64_t ticket, Priority priority) {
  if (running_ < options_.max_concurrent && queued_ == 0) {
    ++running_;
    return {Verdict::kRun, std::nullopt};
  }
  if (MayQueue(priority)) {
    queues_[Index(priority)].push_back(ticket);
    ++queued_;
    return {Verdict::kQueued, std::nullopt};
  }
  if (queued_ < options_.max_queue || priority == Priority::kLow) {
    return {Verdict::kShed, std::nullopt};
  }
  // Completely full: make room by evicting the newest call of the lowest lower priority.
  for (std::size_t victim = kPriorities - 1; victim > Index(priority); --victim) {
    auto& queue = queues_[victim];
    if (!queue.empty()) {
      const std::uint64_t evicted = queue.back();
      queue.pop_back();
      queues_[Index(priority)].push_back(ticket);
      return {Verdict::kQueued, evicted};
    }
  }
  return {Verdict::kFull, std::nullopt};
}

std::optional<std::uint64_t> Bulkhead::Exit() {
  AM_CHECK_MSG(running_ > 0, "Bulkhead::Exit without a running call");
  --running_;
  for (auto& queue : queues_) {
    if (!queue.empty()) {
      const std::uint64_t next = queue.front();
      queue.pop_front();
      --queued_;
      ++running_;
      return next;
    }
  }
  return std::nullopt;
}

bool Bulkhead::Cancel(std::uint64_t ticket) {
  for (auto& queue : queues_) {
    const auto it = std::find(queue.begin(), queue.end(), ticket);
    if (it != queue.end()) {
      queue.erase(it);
      --queued_;
      return true;
    }
  }
  return false;
}

int Bulkhead::queued(Priority priority) const {
  return static_cast<int>(queues_[Index(priority)].size());
}

}  // namespace agentmesh::resilience
