// /v1/agents...: registration, deregistration, heartbeats, observations, queries.
#include <boost/json/serialize.hpp>

#include "agentmesh/server/errors.h"
#include "agentmesh/server/json_codec.h"
#include "agentmesh/server/routes.h"

namespace agentmesh::server {
namespace {

namespace asio = boost::asio;

Response StateResponse(health::HealthState state) {
  Response r;
  const std::string_view name = health::HealthStateName(state);
  r.body.reserve(16 + name.size());
  r.body += "{\"status\":\"";
  r.body += name;
  r.body += "\"}";
  return r;
}

Response UnknownInstance(std::string_view id) {
  boost::json::object details;
  details["id"] = id;
  return ErrorResponse(
      ApiError{core::NotFound("unknown_instance", "No instance with id '" + std::string(id) + "'."),
               std::move(details)});
}

asio::awaitable<Response> PutAgent(MembershipService& m, const Request& req) {
  if (auto ok = CheckJsonContentType(req.content_type, req.body); !ok) {
    co_return ErrorResponse(ok.error());
  }
  auto spec = ParseInstanceSpec(req.param(0), req.body);
  if (!spec) {
    co_return ErrorResponse(spec.error());
  }
  auto reply = co_await m.Register(std::move(*spec));
  if (!reply) {
    co_return ErrorResponse(reply.error());
  }
  const int status = reply->outcome == health::RegisterOutcome::kCreated ? 201 : 200;
  co_return JsonResponse(InstanceViewToJson(reply->view), status);
}

asio::awaitable<Response> DeleteAgent(MembershipService& m, const Request& req) {
  auto id = ParseInstanceId(req.param(0));
  if (!id) {
    co_return ErrorResponse(id.error());
  }
  auto view = co_await m.Deregister(*id);
  if (!view) {
    if (view.error().reason() == "unknown_instance") {
      co_return UnknownInstance(*id);
    }
    co_return ErrorResponse(view.error());
  }
  co_return JsonResponse(InstanceViewToJson(*view));
}

Response ListAgents(MembershipService& m, const Request& req) {
  auto filter = ParseListFilter(req.query);
  if (!filter) {
    return ErrorResponse(filter.error());
  }
  boost::json::array agents;
  for (const auto& view : m.List(*filter)) {
    agents.push_back(InstanceViewToJson(view));
  }
  const std::size_t count = agents.size();
  return JsonResponse(boost::json::object{{"agents", std::move(agents)}, {"count", count}});
}

Response GetAgent(MembershipService& m, const Request& req) {
  auto id = ParseInstanceId(req.param(0));
  if (!id) {
    return ErrorResponse(id.error());
  }
  auto view = m.Get(*id);
  if (!view) {
    return UnknownInstance(*id);
  }
  return JsonResponse(InstanceViewToJson(*view));
}

Response Heartbeat(MembershipService& m, const Request& req) {
  if (auto ok = CheckJsonContentType(req.content_type, req.body); !ok) {
    return ErrorResponse(ok.error());
  }
  auto id = ParseInstanceId(req.param(0));
  if (!id) {
    return ErrorResponse(id.error());
  }
  auto load = ParseLoadSample(req.body);
  if (!load) {
    return ErrorResponse(load.error());
  }
  auto state = m.Heartbeat(*id, *load);
  if (!state) {
    if (state.error().reason() == "unknown_instance") {
      return UnknownInstance(*id);
    }
    return ErrorResponse(state.error());
  }
  return StateResponse(*state);
}

Response PostObservation(MembershipService& m, const Request& req) {
  if (auto ok = CheckJsonContentType(req.content_type, req.body); !ok) {
    return ErrorResponse(ok.error());
  }
  auto id = ParseInstanceId(req.param(0));
  if (!id) {
    return ErrorResponse(id.error());
  }
  auto obs = ParseObservation(req.body);
  if (!obs) {
    return ErrorResponse(obs.error());
  }
  auto state = m.Observe(*id, obs->observer, obs->healthy);
  if (!state) {
    return ErrorResponse(state.error());
  }
  return StateResponse(*state);
}

Response GetHistory(MembershipService& m, const Request& req) {
  auto id = ParseInstanceId(req.param(0));
  if (!id) {
    return ErrorResponse(id.error());
  }
  if (!m.Get(*id)) {
    return UnknownInstance(*id);
  }
  boost::json::array transitions;
  for (const auto& t : m.History(*id)) {
    transitions.push_back(TransitionToJson(t));
  }
  return JsonResponse(boost::json::object{{"id", *id}, {"transitions", std::move(transitions)}});
}

}  // namespace

void AddAgentRoutes(Router& router, MembershipService& m) {
  router.Add(Method::kGet, "/v1/agents", [&m](const Request& r) { return ListAgents(m, r); });
  router.AddAsync(Method::kPut, "/v1/agents/{id}",
                  [&m](const Request& r) { return PutAgent(m, r); });
  router.Add(Method::kGet, "/v1/agents/{id}", [&m](const Request& r) { return GetAgent(m, r); });
  router.AddAsync(Method::kDelete, "/v1/agents/{id}",
                  [&m](const Request& r) { return DeleteAgent(m, r); });
  router.Add(Method::kPut, "/v1/agents/{id}/heartbeat",
             [&m](const Request& r) { return Heartbeat(m, r); });
  router.Add(Method::kPost, "/v1/agents/{id}/observations",
             [&m](const Request& r) { return PostObservation(m, r); });
  router.Add(Method::kGet, "/v1/agents/{id}/history",
             [&m](const Request& r) { return GetHistory(m, r); });
}

}  // namespace agentmesh::server
