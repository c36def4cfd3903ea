// /health, /debug/health, /metrics, /debug/metrics, /debug/events.
#include <charconv>

#include <boost/json/serialize.hpp>

#include "agentmesh/server/errors.h"
#include "agentmesh/server/json_codec.h"
#include "agentmesh/server/routes.h"

namespace agentmesh::server {
namespace {

constexpr std::size_t kDefaultEventLimit = 100;
constexpr std::size_t kMaxEventLimit = 1000;
constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

Response Health(MembershipService& m, const Request&) {
  const health::HealthSummary summary = m.Summary();
  return JsonResponse(SummaryToJson(summary, m.node_id()), summary.critical ? 503 : 200);
}

boost::json::array Events(const RecentEventsFn& fn, std::size_t limit) {
  return fn ? fn(limit) : boost::json::array();
}

Response DebugHealth(MembershipService& m, const RecentEventsFn& events, const Request&) {
  boost::json::object body = SummaryToJson(m.Summary(), m.node_id());
  boost::json::array instances;
  for (const auto& view : m.List({})) {
    instances.push_back(InstanceViewToJson(view));
  }
  body["instances"] = std::move(instances);
  body["events"] = Events(events, kDefaultEventLimit);
  return JsonResponse(body);
}

Response Metrics(const observe::Registry& registry, const Request&) {
  Response r;
  r.content_type = kPrometheusContentType;
  r.body = registry.Render();
  return r;
}

Response DebugEvents(const RecentEventsFn& events, const Request& req) {
  std::size_t limit = kDefaultEventLimit;
  std::string_view query = req.query;
  if (!query.empty()) {
    if (!query.starts_with("limit=")) {
      return ErrorResponse(ApiError{
          core::InvalidArgument("unknown_parameter", "Only the 'limit' parameter is supported."),
          {}});
    }
    const std::string_view value = query.substr(6);
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
    if (ec != std::errc() || end != value.data() + value.size() || limit == 0 ||
        limit > kMaxEventLimit) {
      return ErrorResponse(
          FieldError("invalid_field", "limit", "Query parameter 'limit' must be in 1..1000.")
              .error());
    }
  }
  boost::json::array list = Events(events, limit);
  const std::size_t count = list.size();
  return JsonResponse(boost::json::object{{"events", std::move(list)}, {"count", count}});
}

}  // namespace

void AddAdminRoutes(Router& router, MembershipService& m, const observe::Registry& metrics,
                    RecentEventsFn recent_events) {
  auto events = std::make_shared<RecentEventsFn>(std::move(recent_events));
  router.Add(Method::kGet, "/health", [&m](const Request& r) { return Health(m, r); });
  router.Add(Method::kGet, "/debug/health",
             [&m, events](const Request& r) { return DebugHealth(m, *events, r); });
  router.Add(Method::kGet, "/metrics",
             [&metrics](const Request& r) { return Metrics(metrics, r); });
  router.Add(Method::kGet, "/debug/metrics",
             [&metrics](const Request& r) { return Metrics(metrics, r); });
  router.Add(Method::kGet, "/debug/events",
             [events](const Request& r) { return DebugEvents(*events, r); });
}

}  // namespace agentmesh::server
