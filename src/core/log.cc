#include "agentmesh/core/log.h"

#include <atomic>
#include <chrono>
#include <memory>

#include <boost/json/serialize.hpp>
#include <fmt/chrono.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace agentmesh::core::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

spdlog::logger& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("agentmesh",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

constexpr std::string_view kLevelNames[] = {"debug", "info", "warn", "error"};

}  // namespace

void SetLevel(Level level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool ParseLevel(std::string_view text, Level* out) {
  for (int i = 0; i < 4; ++i) {
    if (kLevelNames[i] == text) {
      *out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void Write(Level level, std::string_view msg, const boost::json::object& fields) {
  if (!Enabled(level)) {
    return;
  }
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  boost::json::object line;
  line.reserve(fields.size() + 3);
  line["ts"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z",
                           fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms.count());
  line["level"] = kLevelNames[static_cast<int>(level)];
  line["msg"] = msg;
  for (const auto& kv : fields) {
    line[kv.key()] = kv.value();
  }
  Logger().info(boost::json::serialize(line));
}

}  // namespace agentmesh::core::log
