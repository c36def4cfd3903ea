#include "agentmesh/core/duration.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace agentmesh::core {
namespace {

struct Unit {
  std::string_view name;
  long long nanos;
};

// Longest names first so that "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {
    {"ns", 1LL},         {"us", 1'000LL},          {"ms", 1'000'000LL},
    {"s", 1'000'000'000LL}, {"m", 60'000'000'000LL}, {"h", 3'600'000'000'000LL},
};

Status Invalid(std::string_view text, std::string_view why) {
  return InvalidArgument("invalid_duration", "'" + std::string(text) + "' is not a duration (" +
                                                 std::string(why) +
                                                 "); write it like \"30s\", \"250ms\" or \"1m30s\"");
}

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  if (text == "0") {
    return Duration::zero();
  }
  if (text.empty()) {
    return Err(Invalid(text, "empty"));
  }
  long double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      ++i;
    }
    if (start == i) {
      return Err(Invalid(text, "expected a number"));
    }
    std::string_view num = text.substr(start, i - start);
    if (num.find('.') != num.rfind('.') || num == ".") {
      return Err(Invalid(text, "malformed number"));
    }
    long double value = std::strtold(std::string(num).c_str(), nullptr);
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      return Err(Invalid(text, "missing unit"));
    }
    const Unit* found = nullptr;
    for (const Unit& u : kUnits) {
      if (u.name == unit) {
        found = &u;
        break;
      }
    }
    if (found == nullptr) {
      return Err(Invalid(text, "unknown unit '" + std::string(unit) + "'"));
    }
    total += value * static_cast<long double>(found->nanos);
  }
  if (total > static_cast<long double>(std::numeric_limits<long long>::max())) {
    return Err(Invalid(text, "too large"));
  }
  return Duration(static_cast<long long>(std::llround(total)));
}

std::string FormatDuration(Duration d) {
  if (d.count() == 0) {
    return "0s";
  }
  std::string sign;
  // The magnitude is unsigned so that Duration::min() does not overflow on negation.
  auto ns = static_cast<unsigned long long>(d.count());
  if (d.count() < 0) {
    sign = "-";
    ns = 0ULL - ns;
  }
  constexpr unsigned long long kSec = 1'000'000'000ULL;
  if (ns % kSec != 0) {
    if (ns % 1'000'000 == 0) {
      return sign + std::to_string(ns / 1'000'000) + "ms";
    }
    if (ns % 1'000 == 0) {
      return sign + std::to_string(ns / 1'000) + "us";
    }
    return sign + std::to_string(ns) + "ns";
  }
  unsigned long long s = ns / kSec;
  std::string out = sign;
  if (s >= 3600) {
    out += std::to_string(s / 3600) + "h";
    s %= 3600;
  }
  if (s >= 60) {
    out += std::to_string(s / 60) + "m";
    s %= 60;
  }
  if (s > 0) {
    out += std::to_string(s) + "s";
  }
  return out;
}

}  // namespace agentmesh::core
