#include "agentmesh/resilience/deadline.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace agentmesh::resilience {
namespace {

core::Status InvalidOptions(std::string message) {
  return core::InvalidArgument("invalid_deadline_options", std::move(message));
}

std::string_view TrimSpaces(std::string_view text) {
  constexpr std::string_view kSpaces = " \t";
  const std::size_t first = text.find_first_not_of(kSpaces);
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(kSpaces) - first + 1);
}

// Parses a non-empty run of decimal digits no greater than `max`.
std::optional<std::uint64_t> ParseBoundedDecimal(std::string_view text, std::uint64_t max) {
  if (text.empty()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  // from_chars accepts no sign or spaces for unsigned types, so only digits get through.
  if (error != std::errc() || end != text.data() + text.size() || value > max) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

core::Status Validate(const DeadlineOptions& options) {
  if (options.child_timeout_margin < core::Duration::zero()) {
    return InvalidOptions("child_timeout_margin must not be negative");
  }
  if (options.max_call_depth < 1) {
    return InvalidOptions("max_call_depth must be at least 1");
  }
  return core::OkStatus();
}

core::Result<CallBudget> ComputeCallBudget(const DeadlineOptions& options,
                                           core::Duration policy_timeout,
                                           std::string_view deadline_header,
                                           std::string_view depth_header) {
  std::optional<std::uint64_t> remaining_ms;
  if (!deadline_header.empty()) {
    remaining_ms = ParseBoundedDecimal(TrimSpaces(deadline_header), kMaxDeadlineHeaderMs);
    if (!remaining_ms) {
      return core::Err(core::InvalidArgument(
          "bad_deadline_header",
          std::string(kDeadlineHeader) + " must be a non-negative whole number of milliseconds"));
    }
  }
  std::uint64_t parent_depth = 0;
  if (!depth_header.empty()) {
    const auto parsed = ParseBoundedDecimal(TrimSpaces(depth_header), kMaxCallDepthHeader);
    if (!parsed) {
      return core::Err(core::InvalidArgument(
          "bad_call_depth_header",
          std::string(kCallDepthHeader) + " must be a non-negative whole number"));
    }
    parent_depth = *parsed;
  }
  const std::uint64_t depth = parent_depth + 1;
  if (depth > static_cast<std::uint64_t>(options.max_call_depth)) {
    return core::Err(core::FailedPrecondition(
        "call_depth_exceeded", "call depth " + std::to_string(depth) + " exceeds the maximum of " +
                                   std::to_string(options.max_call_depth)));
  }
  core::Duration timeout = policy_timeout;
  if (remaining_ms) {
    const core::Duration remaining = std::chrono::milliseconds(*remaining_ms);
    timeout = std::min(policy_timeout, remaining - options.child_timeout_margin);
  }
  if (timeout <= core::Duration::zero()) {
    const auto timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    return core::Err(core::Status(core::StatusCode::kDeadlineExceeded, "deadline_exceeded",
                                  "no time left for the call: its timeout would be " +
                                      std::to_string(timeout_ms.count()) +
                                      " ms after the child timeout margin"));
  }
  return CallBudget{timeout, static_cast<int>(depth)};
}

std::uint64_t DeadlineHeaderMs(core::Duration remaining) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(remaining).count();
  return static_cast<std::uint64_t>(std::max<decltype(ms)>(ms, 0));
}

std::string FormatDeadlineMs(core::Duration remaining) {
  return std::to_string(DeadlineHeaderMs(remaining));
}

}  // namespace agentmesh::resilience
