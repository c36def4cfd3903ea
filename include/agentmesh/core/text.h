// Small text helpers for the HTTP-shaped strings several modules read.
#pragma once

#include <string_view>

namespace agentmesh::core {

// Optional whitespace (RFC 9110 5.6.3): a space or a horizontal tab.
inline bool IsOws(char c) { return c == ' ' || c == '\t'; }

// `s` without the optional whitespace at either end.
inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && IsOws(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace agentmesh::core
