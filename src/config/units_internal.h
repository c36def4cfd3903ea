// Text forms of sizes, times of day and numbers in policy files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agentmesh/config/policy_values.h"

namespace agentmesh::config::internal {

// Parses "1048576", "256MiB", "16GiB" (binary units B, KiB..PiB) or "100MB" (decimal
// units KB..PB); nullopt when malformed or above 2^64-1.
std::optional<std::uint64_t> ParseBytes(std::string_view text);
// Formats in the largest binary unit that keeps the value exact: "256MiB", "1000".
std::string FormatBytes(std::uint64_t bytes);

// Parses "HH:MM" on a 24-hour clock.
std::optional<TimeOfDay> ParseTimeOfDay(std::string_view text);
std::string FormatTimeOfDay(TimeOfDay time);

// Parses a finite decimal number or a ratio "2/3".
std::optional<double> ParseNumber(std::string_view text);
// Formats with the fewest digits that read back to the same double.
std::string FormatNumber(double value);

// Parses a whole decimal number, optionally negative.
std::optional<long long> ParseInteger(std::string_view text);

}  // namespace agentmesh::config::internal
