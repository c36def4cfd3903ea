// CoordService's operations on elections, locks, barriers and proposals (see
// coord_service.h); the machinery they share is in coord_service.cc.
#include <algorithm>
#include <map>
#include <set>

#include "agentmesh/core/ids.h"
#include "agentmesh/server/coord_service.h"

namespace agentmesh::server {
namespace {

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
      if (core::Status e = CheckCoordinatorEligible(options_.roles, name, SessionAgent(*s));
          !e.ok()) {
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

CoordService::Reply CoordService::GetElection(const std::string& name) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects&) {
    return coord::Outcome{false, c.GetElection(name, now)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::Coordinators() {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects&) {
    std::map<std::string, boost::json::object> held;
    for (const auto& e : c.ListElections(kCoordinatorPrefix, now)) {
      const auto& view = e.as_object();
      held.emplace(std::string(view.at("name").as_string()), view);
    }
    return coord::Outcome{false, CoordinatorsView(options_.roles, held)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
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
