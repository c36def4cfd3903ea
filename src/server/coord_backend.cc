// The rules every coordination backend shares (see coord_backend.h).
#include "agentmesh/server/coord_backend.h"

#include <algorithm>
#include <set>

namespace agentmesh::server {

std::string CoordinatorElection(std::string_view domain) {
  return std::string(kCoordinatorPrefix) + std::string(domain);
}

core::Status CheckCoordinatorEligible(const CoordinatorRoles& roles, std::string_view name,
                                      std::string_view agent) {
  if (!name.starts_with(kCoordinatorPrefix)) {
    return core::OkStatus();
  }
  if (name == kGlobalCoordinatorElection) {
    if (agent == roles.global_agent) {
      return core::OkStatus();
    }
    return core::Status(core::StatusCode::kPermissionDenied, "not_eligible",
                        "Only '" + roles.global_agent + "' may hold the global coordinator role.");
  }
  if (roles.phase1_domain.empty()) {
    return core::OkStatus();  // no fleet configured: domains are not known
  }
  const std::string_view domain = name.substr(kCoordinatorPrefix.size());
  auto it = roles.phase1_domain.find(std::string(agent));
  if (it != roles.phase1_domain.end() && it->second == domain) {
    return core::OkStatus();
  }
  return core::Status(core::StatusCode::kPermissionDenied, "not_eligible",
                      "Only phase-1 agents of domain '" + std::string(domain) +
                          "' may coordinate it; '" + std::string(agent) + "' is not one.");
}

boost::json::object CoordinatorsView(const CoordinatorRoles& roles,
                                     const std::map<std::string, boost::json::object>& held) {
  const auto holder = [&held](const std::string& election) -> boost::json::value {
    auto it = held.find(election);
    if (it == held.end()) {
      return nullptr;
    }
    const auto* leader = it->second.if_contains("leader");
    if (leader == nullptr || leader->is_null()) {
      return nullptr;
    }
    boost::json::object out = leader->as_object();
    if (const auto* term = it->second.if_contains("term")) {
      out["term"] = *term;
    }
    return out;
  };
  std::map<std::string, std::vector<std::string>> eligible;  // domain -> agents
  for (const auto& [agent, domain] : roles.phase1_domain) {
    eligible[domain].push_back(agent);
  }
  boost::json::array domains;
  std::set<std::string> listed;
  for (auto& [domain, agents] : eligible) {
    std::sort(agents.begin(), agents.end());
    const std::string election = CoordinatorElection(domain);
    listed.insert(election);
    boost::json::array names;
    for (const std::string& a : agents) {
      names.emplace_back(a);
    }
    domains.push_back(boost::json::object{{"domain", domain},
                                          {"election", election},
                                          {"eligible", std::move(names)},
                                          {"holder", holder(election)}});
  }
  // Domain elections held without a fleet naming them.
  const std::string global(kGlobalCoordinatorElection);
  for (const auto& [election, state] : held) {
    if (election == global || listed.contains(election) ||
        !election.starts_with(kCoordinatorPrefix)) {
      continue;
    }
    domains.push_back(boost::json::object{{"domain", election.substr(kCoordinatorPrefix.size())},
                                          {"election", election},
                                          {"eligible", boost::json::array()},
                                          {"holder", holder(election)}});
  }
  return boost::json::object{
      {"global",
       {{"election", global}, {"eligible", roles.global_agent}, {"holder", holder(global)}}},
      {"domains", std::move(domains)}};
}

}  // namespace agentmesh::server
