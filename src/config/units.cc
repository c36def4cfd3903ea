#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "config/units_internal.h"

namespace agentmesh::config::internal {
namespace {

struct SizeUnit {
  std::string_view name;
  std::uint64_t factor;
};

constexpr SizeUnit kBinaryUnits[] = {
    {"PiB", 1ULL << 50}, {"TiB", 1ULL << 40}, {"GiB", 1ULL << 30},
    {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10},
};
constexpr SizeUnit kDecimalUnits[] = {
    {"PB", 1'000'000'000'000'000ULL},
    {"TB", 1'000'000'000'000ULL},
    {"GB", 1'000'000'000ULL},
    {"MB", 1'000'000ULL},
    {"KB", 1'000ULL},
    {"B", 1ULL},
};

std::optional<std::uint64_t> ParseUnsigned(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> ParseDecimal(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<std::uint64_t> ParseBytes(std::string_view text) {
  std::size_t digits = text.find_first_not_of("0123456789");
  std::string_view unit = digits == std::string_view::npos ? "" : text.substr(digits);
  std::optional<std::uint64_t> number = ParseUnsigned(text.substr(0, digits));
  if (!number) {
    return std::nullopt;
  }
  if (unit.empty()) {
    return number;
  }
  auto scale = [&](std::uint64_t factor) -> std::optional<std::uint64_t> {
    if (*number > std::numeric_limits<std::uint64_t>::max() / factor) {
      return std::nullopt;
    }
    return *number * factor;
  };
  for (const SizeUnit& u : kBinaryUnits) {
    if (u.name == unit) {
      return scale(u.factor);
    }
  }
  for (const SizeUnit& u : kDecimalUnits) {
    if (u.name == unit) {
      return scale(u.factor);
    }
  }
  return std::nullopt;
}

std::string FormatBytes(std::uint64_t bytes) {
  for (const SizeUnit& u : kBinaryUnits) {
    if (bytes != 0 && bytes % u.factor == 0) {
      return std::to_string(bytes / u.factor) + std::string(u.name);
    }
  }
  return std::to_string(bytes);
}

std::optional<TimeOfDay> ParseTimeOfDay(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') {
    return std::nullopt;
  }
  std::optional<std::uint64_t> hour = ParseUnsigned(text.substr(0, 2));
  std::optional<std::uint64_t> minute = ParseUnsigned(text.substr(3, 2));
  if (!hour || !minute || *hour > 23 || *minute > 59) {
    return std::nullopt;
  }
  return TimeOfDay{static_cast<int>(*hour), static_cast<int>(*minute)};
}

std::string FormatTimeOfDay(TimeOfDay time) {
  return fmt::format("{:02}:{:02}", time.hour, time.minute);
}

std::optional<double> ParseNumber(std::string_view text) {
  std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return ParseDecimal(text);
  }
  std::optional<double> numerator = ParseDecimal(text.substr(0, slash));
  std::optional<double> denominator = ParseDecimal(text.substr(slash + 1));
  if (!numerator || !denominator || *denominator == 0) {
    return std::nullopt;
  }
  return *numerator / *denominator;
}

std::string FormatNumber(double value) { return fmt::format("{}", value); }

std::optional<long long> ParseInteger(std::string_view text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace agentmesh::config::internal
