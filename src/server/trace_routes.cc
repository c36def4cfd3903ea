// GET /debug/traces and GET /v1/traces/{trace_id}.
#include "agentmesh/server/trace_routes.h"

#include <charconv>
#include <string>
#include <string_view>

#include <boost/json/serialize.hpp>
#include <boost/url/parse_query.hpp>

#include "agentmesh/core/duration.h"
#include "agentmesh/core/ids.h"
#include "agentmesh/server/errors.h"

namespace agentmesh::server {
namespace {

ApiResult<observe::TraceQuery> ParseTraceQuery(std::string_view query) {
  observe::TraceQuery out;
  out.limit = kDefaultTraceLimit;
  if (query.empty()) {
    return out;
  }
  auto params = boost::urls::parse_query(query);
  if (!params) {
    return ApiErr(core::InvalidArgument("malformed_query", "The query string is not valid."));
  }
  for (const auto& param : *params) {
    const std::string key = param.key.decode();
    const std::string value = param.value.decode();
    if (key.empty() && value.empty()) {
      continue;
    }
    if (key == "agent") {
      if (!core::ValidateId(value, "agent").ok()) {
        return FieldError("invalid_field", "agent",
                          "Query parameter 'agent' must be an agent id or name.");
      }
      out.agent = value;
    } else if (key == "errors") {
      if (value != "true" && value != "false") {
        return FieldError("invalid_field", "errors",
                          "Query parameter 'errors' must be true or false.");
      }
      out.errors_only = value == "true";
    } else if (key == "min_duration") {
      auto duration = core::ParseDuration(value);
      if (!duration) {
        return FieldError("invalid_field", "min_duration",
                          "Query parameter 'min_duration' must be a duration such as 250ms.");
      }
      out.min_duration = *duration;
    } else if (key == "limit") {
      std::size_t limit = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc() || end != value.data() + value.size() || limit == 0 ||
          limit > kMaxTraceLimit) {
        return FieldError("invalid_field", "limit", "Query parameter 'limit' must be in 1..1000.");
      }
      out.limit = limit;
    } else {
      return UnknownParameter(key);
    }
  }
  return out;
}

Response RecentTraces(const observe::TraceStore& store, const Request& req) {
  auto query = ParseTraceQuery(req.query);
  if (!query) {
    return ErrorResponse(query.error());
  }
  boost::json::array traces = store.Recent(*query);
  const std::size_t count = traces.size();
  return JsonResponse(boost::json::object{{"traces", std::move(traces)}, {"count", count}});
}

Response GetTrace(const observe::TraceStore& store, const Request& req) {
  const std::string_view id_text = req.param(0);
  auto id = observe::TraceId::FromHex(id_text);
  if (!id || !id->valid()) {
    boost::json::object details;
    details["trace_id"] = id_text;
    return ErrorResponse(
        ApiError{core::InvalidArgument("invalid_trace_id",
                                       "A trace id is 32 lowercase hex digits, not all zero."),
                 std::move(details)});
  }
  auto tree = store.Tree(*id);
  if (!tree) {
    boost::json::object details;
    details["trace_id"] = id_text;
    return ErrorResponse(ApiError{
        core::NotFound("unknown_trace", "No recent trace with id '" + std::string(id_text) +
                                            "' (it was not sampled or has been evicted)."),
        std::move(details)});
  }
  return JsonResponse(*tree);
}

}  // namespace

void AddTraceRoutes(Router& router, const observe::TraceStore& store) {
  router.Add(Method::kGet, "/debug/traces",
             [&store](const Request& r) { return RecentTraces(store, r); });
  router.Add(Method::kGet, "/v1/traces/{trace_id}",
             [&store](const Request& r) { return GetTrace(store, r); });
}

}  // namespace agentmesh::server
