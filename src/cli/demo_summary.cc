#include "cli/demo_summary.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "agentmesh/health/types.h"

namespace agentmesh::cli {
namespace {

std::int64_t Count(const boost::json::object& phase, std::string_view state) {
  const auto* v = phase.if_contains(state);
  return v && v->is_int64() ? v->as_int64() : 0;
}

}  // namespace

std::string FormatPhaseStates(std::string_view health_body) {
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(health_body, ec);
  if (ec || !body.is_object()) {
    return {};
  }
  const auto* phases = body.as_object().if_contains("phases");
  if (!phases || !phases->is_object()) {
    return {};
  }
  std::string out;
  for (int p = health::kMinPhase; p <= health::kMaxPhase; ++p) {
    const auto* phase = phases->as_object().if_contains(std::to_string(p));
    if (!phase || !phase->is_object()) {
      continue;
    }
    const auto& counts = phase->as_object();
    const std::int64_t left = Count(counts, "left");
    const std::int64_t total = Count(counts, "total") - left;
    if (!out.empty()) {
      out += " | ";
    }
    out += fmt::format("phase{} {}/{} healthy", p, Count(counts, "healthy"), total);
    for (std::string_view state : {"suspect", "unhealthy", "recovering", "left"}) {
      if (const std::int64_t n = Count(counts, state); n > 0) {
        out += fmt::format(" {} {}", n, state);
      }
    }
  }
  return out;
}

std::string FormatDemoSummary(core::Duration elapsed,
                              const core::Result<client::HttpResponse>& health,
                              const DemoFaultCounts& faults) {
  std::string phases;
  if (!health) {
    phases = "node unreachable: " + health.error().message();
  } else if (phases = FormatPhaseStates(health->body); phases.empty()) {
    phases = fmt::format("node answered HTTP {} without phase counts", health->status);
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
  return fmt::format("[t+{}s] {} | faults: {} crashed, {} slow, {} failing", seconds, phases,
                     faults.crashed, faults.slow, faults.failing);
}

}  // namespace agentmesh::cli
