// Durations as the API and the policy file write them: "30s", "250ms", "1m30s".
#pragma once

#include <string>
#include <string_view>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::core {

// Parses a Go-style duration: one or more <number><unit> pairs, units ns, us, ms, s,
// m, h; the number may have a fraction ("1.5s"). "0" alone means zero.
// Errors: kInvalidArgument (reason "invalid_duration") for anything else, including
// negative values and overflow.
Result<Duration> ParseDuration(std::string_view text);

// Formats `d` in the largest unit that keeps it exact: "30s", "250ms", "1m30s".
std::string FormatDuration(Duration d);

}  // namespace agentmesh::core
