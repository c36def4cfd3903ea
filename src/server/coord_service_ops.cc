// CoordService's operations on elections, locks, barriers and proposals (see
// coord_service.h); the machinery they share is in coord_service.cc.
#include <algorithm>
#include <map>
#include <set>

#include "agentmesh/core/ids.h"
#include "agentmesh/server/coord_service.h"

namespace agentmesh::server {
namespace {

// Whether `agent` may campaign for election `name`: coordinator roles are reserved for
// the agents the fleet names (rules 1.3); other elections are open to every session.
core::Status CheckEligible(const CoordinatorRoles& roles, std::string_view name,
                           std::string_view agent) {
  constexpr std::string_view kPrefix = "coordinator/";
  if (!name.starts_with(kPrefix)) {
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
  const std::string_view domain = name.substr(kPrefix.size());
  auto it = roles.phase1_domain.find(std::string(agent));
  if (it != roles.phase1_domain.end() && it->second == domain) {
    return core::OkStatus();
  }
  return core::Status(core::StatusCode::kPermissionDenied, "not_eligible",
                      "Only phase-1 agents of domain '" + std::string(domain) +
                          "' may coordinate it; '" + std::string(agent) + "' is not one.");
}

std::string_view SessionAgent(const boost::json::object& session) {
  const auto* agent = session.if_contains("agent");
  return agent != nullptr && agent->is_string() ? std::string_view(agent->as_string())
                                                : std::string_view();
}

}  // namespace

CoordService::Reply CoordService::Campaign(const std::string& name, const std::string& session,
                                           const std::string& value, core::Duration wait) {
  Op op = [&](coord::Coordinator& c, std::uint64_t waiter, core::TimePoint now,
              coord::Effects& fx) -> coord::Outcome {
    if (auto s = c.GetSession(session, now); s) {
      if (core::Status e = CheckEligible(options_.roles, name, SessionAgent(*s)); !e.ok()) {
        return {false, core::Err(std::move(e))};
      }
    }
    return c.Campaign(name, session, value, waiter, now, fx);
  };
  core::Status timeout = core::FailedPrecondition(
      "not_elected", "Election '" + name + "' has another leader; wait_ms ran out.");
  const core::Duration bounded = std::min(wait, options_.max_wait);
  co_return co_await Run(op, bounded, timeout);
}

CoordService::Reply CoordService::Resign(const std::string& name, const std::string& session,
                                         const std::string& successor) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects& fx) {
    return coord::Outcome{false, c.Resign(name, session, successor, now, fx)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Json CoordService::PeekElection(const std::string& name) {
  std::lock_guard lock(mu_);
  return core_.GetElection(name, clock_.Now());
}

CoordService::Reply CoordService::GetElection(const std::string& name) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects&) {
    return coord::Outcome{false, c.GetElection(name, now)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::Coordinators() {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects&) {
    return coord::Outcome{false, CoordinatorsView(c, now)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Json CoordService::CoordinatorsView(const coord::Coordinator& core,
                                                  core::TimePoint now) const {
  std::map<std::string, std::vector<std::string>> eligible;  // domain -> agents
  for (const auto& [agent, domain] : options_.roles.phase1_domain) {
    eligible[domain].push_back(agent);
  }
  const auto holder = [&](const std::string& election) -> boost::json::value {
    auto state = core.GetElection(election, now);
    if (!state) {
      return nullptr;
    }
    const auto* leader = state->if_contains("leader");
    if (leader == nullptr || leader->is_null()) {
      return nullptr;
    }
    boost::json::object out = leader->as_object();
    if (const auto* term = state->if_contains("term")) {
      out["term"] = *term;
    }
    return out;
  };
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
  for (const auto& e : core.ListElections("coordinator/", now)) {
    const auto& name = e.as_object().at("name").as_string();
    const std::string election(name.data(), name.size());
    if (election == kGlobalCoordinatorElection || listed.contains(election)) {
      continue;
    }
    domains.push_back(boost::json::object{{"domain", election.substr(12)},
                                          {"election", election},
                                          {"eligible", boost::json::array()},
                                          {"holder", holder(election)}});
  }
  const std::string global(kGlobalCoordinatorElection);
  return boost::json::object{{"global",
                              {{"election", global},
                               {"eligible", options_.roles.global_agent},
                               {"holder", holder(global)}}},
                             {"domains", std::move(domains)}};
}

std::unique_ptr<CoordService::Watch> CoordService::WatchElection(
    std::string name, std::function<void(const boost::json::object&)> on_change) {
  auto watch = std::make_unique<Watch>(*this, name, std::move(on_change));
  std::lock_guard lock(mu_);
  watches_.emplace(std::move(name), watch.get());
  return watch;
}

CoordService::Reply CoordService::AcquireLock(const std::string& name, const std::string& session,
                                              coord::LockMode mode, core::Duration wait) {
  Op op = [&](coord::Coordinator& c, std::uint64_t waiter, core::TimePoint now,
              coord::Effects& fx) { return c.AcquireLock(name, session, mode, waiter, now, fx); };
  core::Status timeout = core::FailedPrecondition(
      "lock_held", "Lock '" + name + "' is held by another session; wait_ms ran out.");
  const core::Duration bounded = std::min(wait, options_.max_wait);
  co_return co_await Run(op, bounded, timeout);
}

CoordService::Reply CoordService::AcquireLockSet(const std::vector<std::string>& names,
                                                 const std::string& session, coord::LockMode mode,
                                                 core::Duration wait) {
  Op op = [&](coord::Coordinator& c, std::uint64_t waiter, core::TimePoint now,
              coord::Effects& fx) {
    return c.AcquireLockSet(names, session, mode, waiter, now, fx);
  };
  core::Status timeout = core::FailedPrecondition(
      "lock_held", "A lock of the set is held by another session; wait_ms ran out.");
  const core::Duration bounded = std::min(wait, options_.max_wait);
  co_return co_await Run(op, bounded, timeout);
}

CoordService::Reply CoordService::ReleaseLock(const std::string& name, const std::string& session) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects& fx) {
    return coord::Outcome{false, c.ReleaseLock(name, session, now, fx)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::RenewLock(const std::string& name, const std::string& session) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects& fx) {
    return coord::Outcome{false, c.RenewLock(name, session, now, fx)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::GetLock(const std::string& name) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects&) {
    return coord::Outcome{false, c.GetLock(name, now)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::CreateBarrier(const std::string& name,
                                                const std::vector<std::string>& participants,
                                                std::optional<core::Duration> ttl) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects& fx) {
    return coord::Outcome{false, c.CreateBarrier(name, participants, ttl, now, fx)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::Arrive(const std::string& name, const std::string& participant,
                                         core::Duration wait) {
  Op op = [&](coord::Coordinator& c, std::uint64_t waiter, core::TimePoint now,
              coord::Effects& fx) { return c.Arrive(name, participant, waiter, now, fx); };
  core::Status timeout =
      core::FailedPrecondition("barrier_incomplete", "Not every participant of barrier '" + name +
                                                         "' arrived before wait_ms ran out.");
  const core::Duration bounded = std::min(wait, options_.max_wait);
  co_return co_await Run(op, bounded, timeout);
}

CoordService::Reply CoordService::GetBarrier(const std::string& name) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects&) {
    return coord::Outcome{false, c.GetBarrier(name, now)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::CreateProposal(const std::string& kind,
                                                 const std::string& subject,
                                                 const boost::json::value& payload,
                                                 core::Duration deadline_in) {
  const std::string id = core::NewRandomId();
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects& fx) {
    return coord::Outcome{false,
                          c.CreateProposal(id, kind, subject, payload, now + deadline_in, now, fx)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::Vote(const std::string& id, const std::string& voter,
                                       bool approve) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects& fx) {
    return coord::Outcome{false, c.Vote(id, voter, approve, now, fx)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::GetProposal(const std::string& id) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects&) {
    return coord::Outcome{false, c.GetProposal(id, now)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

}  // namespace agentmesh::server
