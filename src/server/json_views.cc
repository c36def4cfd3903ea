// JSON views of instances, transitions and health summaries (see json_codec.h).
#include <cstdio>
#include <ctime>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "agentmesh/server/json_codec.h"

namespace agentmesh::server {

std::string FormatTimestamp(core::WallTime t) {
  const long long ms = core::ToUnixMillis(t);
  long long secs = ms / 1000;
  long long frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(frac));
  return buf;
}

boost::json::object InstanceViewToJson(const health::InstanceView& view) {
  boost::json::object o;
  const health::InstanceSpec& s = view.spec;
  o["id"] = s.id;
  o["agent"] = s.agent;
  o["phase"] = s.phase;
  o["domain"] = s.domain;
  boost::json::array caps;
  for (const auto& c : s.capabilities) {
    caps.emplace_back(c);
  }
  o["capabilities"] = std::move(caps);
  o["address"] = s.address;
  o["weight"] = s.weight;
  boost::json::object meta;
  for (const auto& [k, v] : s.metadata) {
    meta[k] = v;
  }
  o["metadata"] = std::move(meta);
  o["status"] = health::HealthStateName(view.state);
  o["phi"] = view.phi;
  if (view.load) {
    o["load"] = boost::json::object{{"cpu", view.load->cpu},
                                    {"memory", view.load->memory},
                                    {"queue_depth", view.load->queue_depth}};
  } else {
    o["load"] = nullptr;
  }
  o["heartbeats"] = view.heartbeats;
  if (view.last_heartbeat) {
    o["last_heartbeat"] = FormatTimestamp(*view.last_heartbeat);
  } else {
    o["last_heartbeat"] = nullptr;
  }
  o["registered_at"] = FormatTimestamp(view.registered_at);
  o["consecutive_failures"] = view.consecutive_failures;
  boost::json::array confirmations;
  for (const auto& c : view.confirmations) {
    confirmations.emplace_back(c);
  }
  o["confirmations"] = std::move(confirmations);
  return o;
}

boost::json::object TransitionToJson(const health::Transition& t) {
  return boost::json::object{{"from", health::HealthStateName(t.from)},
                             {"to", health::HealthStateName(t.to)},
                             {"reason", t.reason},
                             {"at", FormatTimestamp(t.wall)}};
}

boost::json::object SummaryToJson(const health::HealthSummary& summary, std::string_view node_id) {
  boost::json::object phases;
  for (int p = 0; p < 3; ++p) {
    boost::json::object counts;
    int total = 0;
    for (health::HealthState state : health::kAllHealthStates) {
      const int n = summary.counts[p][static_cast<int>(state)];
      counts[health::HealthStateName(state)] = n;
      total += n;
    }
    counts["total"] = total;
    phases[std::to_string(p + 1)] = std::move(counts);
  }
  boost::json::array reasons;
  for (const auto& r : summary.reasons) {
    reasons.emplace_back(r);
  }
  return boost::json::object{{"status", summary.critical ? "critical" : "ok"},
                             {"node_id", node_id},
                             {"phases", std::move(phases)},
                             {"reasons", std::move(reasons)}};
}

}  // namespace agentmesh::server
