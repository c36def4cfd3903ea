// Structured JSON logs: one object per line on stderr, {"ts","level","msg",...fields}.
//
// Thread-safe. Building blocks do not log; they emit events. Shells (server, store,
// cli) log what an operator needs to see.
#pragma once

#include <string_view>

#include <boost/json/object.hpp>

namespace agentmesh::core::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Sets the minimum level written; default kInfo.
void SetLevel(Level level);
// Parses "debug", "info", "warn", "error"; returns false for anything else.
bool ParseLevel(std::string_view text, Level* out);
bool Enabled(Level level);

// Writes one JSON line with `msg` and the extra `fields`.
void Write(Level level, std::string_view msg, const boost::json::object& fields = {});

inline void Debug(std::string_view msg, const boost::json::object& fields = {}) {
  if (Enabled(Level::kDebug)) {
    Write(Level::kDebug, msg, fields);
  }
}
inline void Info(std::string_view msg, const boost::json::object& fields = {}) {
  Write(Level::kInfo, msg, fields);
}
inline void Warn(std::string_view msg, const boost::json::object& fields = {}) {
  Write(Level::kWarn, msg, fields);
}
inline void Error(std::string_view msg, const boost::json::object& fields = {}) {
  Write(Level::kError, msg, fields);
}

}  // namespace agentmesh::core::log
