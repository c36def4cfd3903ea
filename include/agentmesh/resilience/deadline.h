// Deadlines and call depth: the timeout budget that travels with a chain of agent calls
// (rules 9.1: child timeout < parent timeout - 5 s, maximum call depth 5).
//
// The gateway reads the two headers from an incoming call, computes the budget of the
// outgoing call, and writes the headers back (remaining budget, depth) on the upstream
// request. Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::resilience {

// Remaining budget of the caller, whole milliseconds.
inline constexpr std::string_view kDeadlineHeader = "X-Agentmesh-Deadline-Ms";
// Gateway hops so far in this call chain.
inline constexpr std::string_view kCallDepthHeader = "X-Agentmesh-Call-Depth";
// Header values above these are rejected as malformed rather than trusted: a year of
// budget, and a depth no real chain reaches.
inline constexpr std::uint64_t kMaxDeadlineHeaderMs = 365ull * 24 * 3600 * 1000;
inline constexpr std::uint64_t kMaxCallDepthHeader = 1'000'000;

struct DeadlineOptions {
  // A child call gets the caller's remaining budget minus this (rules 9.1: 5 s).
  core::Duration child_timeout_margin = std::chrono::seconds(5);
  // Calls deeper than this are refused (rules 9.1: 5).
  int max_call_depth = 5;
};

// Errors: kInvalidArgument "invalid_deadline_options" naming the offending field.
core::Status Validate(const DeadlineOptions& options);

struct CallBudget {
  // Timeout of the outgoing call; positive.
  core::Duration timeout;
  // Depth of the outgoing call: 1 for a first call.
  int depth;
};

// Returns the budget of a call through the gateway. `deadline_header` and `depth_header`
// are the raw header values ("" when absent; surrounding spaces and tabs are ignored).
// depth = parsed depth + 1 (absent = 0, so a first call has depth 1). timeout =
// policy_timeout without a deadline header, else min(policy_timeout, remaining -
// child_timeout_margin).
// Errors: kInvalidArgument "bad_deadline_header" / "bad_call_depth_header" (not a
// non-negative decimal integer, or above kMaxDeadlineHeaderMs / kMaxCallDepthHeader);
// kFailedPrecondition "call_depth_exceeded" when depth > max_call_depth;
// kDeadlineExceeded "deadline_exceeded" when timeout <= 0. Header errors come first, then
// depth, then the deadline.
core::Result<CallBudget> ComputeCallBudget(const DeadlineOptions& options,
                                           core::Duration policy_timeout,
                                           std::string_view deadline_header,
                                           std::string_view depth_header);

// Returns `remaining` as a deadline header's number: whole milliseconds, rounded down, at
// least 0.
std::uint64_t DeadlineHeaderMs(core::Duration remaining);
// The same as the header value's text.
std::string FormatDeadlineMs(core::Duration remaining);

}  // namespace agentmesh::resilience
