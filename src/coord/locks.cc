// LockTable's requests: acquire, lock sets, renew, release, cancel, session release and
// max-hold expiry (see locks.h). The queue machinery is in lock_queue.cc, views and
// persistence in lock_state.cc.
#include "agentmesh/coord/locks.h"

#include <algorithm>
#include <utility>

#include "agentmesh/core/check.h"

#include "lock_internal.h"

namespace agentmesh::coord {
namespace {

using lock_internal::LockEvent;
using lock_internal::RemainingMs;

core::Status NotHolder(std::string_view name, std::string_view session) {
  return core::FailedPrecondition(
      "not_holder",
      "Session '" + std::string(session) + "' does not hold lock '" + std::string(name) + "'.");
}

}  // namespace

LockTable::LockTable(LockOptions options, Sequencer& sequencer)
    : options_(std::move(options)), sequencer_(sequencer) {
  AM_CHECK_MSG(Validate(options_).ok(), "invalid LockOptions");
}

Outcome LockTable::Acquire(std::string_view name, std::string_view session, std::string_view agent,
                           LockMode mode, std::uint64_t waiter, core::TimePoint now,
                           Effects& effects) {
  return AcquireNames({std::string(name)}, session, agent, mode, waiter, /*is_set=*/false, now,
                      effects);
}

Outcome LockTable::AcquireSet(std::vector<std::string> names, std::string_view session,
                              std::string_view agent, LockMode mode, std::uint64_t waiter,
                              core::TimePoint now, Effects& effects) {
  return AcquireNames(std::move(names), session, agent, mode, waiter, /*is_set=*/true, now,
                      effects);
}

Outcome LockTable::AcquireNames(std::vector<std::string> names, std::string_view session,
                                std::string_view agent, LockMode mode, std::uint64_t waiter,
                                bool is_set, core::TimePoint now, Effects& effects) {
  const auto fail = [](core::Status status) {
    return Outcome{.queued = false, .result = core::Err(std::move(status))};
  };
  std::ranges::sort(names);
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (names.empty() || names.size() > options_.max_set_size) {
    return fail(core::InvalidArgument(
        "invalid_argument",
        "A lock set needs 1 to " + std::to_string(options_.max_set_size) + " names."));
  }
  for (const auto& name : names) {
    if (auto status = ValidateName(name); !status.ok()) {
      return fail(std::move(status));
    }
  }
  if (session.empty()) {
    return fail(core::InvalidArgument("invalid_argument", "A lock request needs a session."));
  }
  Expire(now, effects);

  Waiter request{.session = std::string(session),
                 .agent = std::string(agent),
                 .mode = mode,
                 .names = std::move(names),
                 .is_set = is_set};
  std::vector<std::string> missing;
  for (const auto& name : request.names) {
    const Holder* holder = FindHolder(name, session);
    if (holder == nullptr) {
      missing.push_back(name);
    } else if (holder->mode != mode) {
      return fail(core::InvalidArgument(
          "invalid_argument", "Session '" + request.session + "' holds lock '" + name + "' in " +
                                  std::string(LockModeName(holder->mode)) +
                                  " mode; release it before asking for " +
                                  std::string(LockModeName(mode)) + " mode."));
    }
  }
  if (missing.empty()) {
    return Outcome{.queued = false, .result = ResultOf(request, now)};
  }
  if (auto status = CheckOrder(request.session, missing); !status.ok()) {
    return fail(std::move(status));
  }
  if (Grantable(request, waiter, /*queued=*/false)) {
    return Outcome{.queued = false, .result = Grant(request, now, effects)};
  }
  AM_CHECK_MSG(!waiters_.contains(waiter), "waiter id reused while still queued");
  for (const auto& name : request.names) {
    locks_[name].queue.push_back(waiter);
  }
  waiters_.emplace(waiter, std::move(request));
  return Outcome{.queued = true, .result = boost::json::object{}};
}

core::Result<boost::json::object> LockTable::Renew(std::string_view name, std::string_view session,
                                                   core::TimePoint now, Effects& effects) {
  if (auto status = ValidateName(name); !status.ok()) {
    return core::Err(std::move(status));
  }
  Expire(now, effects);
  if (FindHolder(name, session) == nullptr) {
    return core::Err(NotHolder(name, session));
  }
  const std::string key(name);
  auto& holders = locks_.find(key)->second.holders;
  auto holder = std::ranges::find(holders, session, &Holder::session);
  if (holder->renewals >= options_.max_renewals) {
    return core::Err(core::FailedPrecondition(
        "max_renewals_exceeded", "Lock '" + key + "' was renewed " +
                                     std::to_string(options_.max_renewals) +
                                     " times already; release it and acquire it again."));
  }
  deadlines_.erase({holder->expires_at, key, holder->session});
  holder->renewals += 1;
  holder->expires_at = now + options_.max_hold;
  deadlines_.emplace(holder->expires_at, key, holder->session);
  boost::json::object result{{"name", key},
                             {"token", holder->token},
                             {"mode", LockModeName(holder->mode)},
                             {"session", session},
                             {"expires_in_ms", RemainingMs(holder->expires_at, now)},
                             {"renewals", holder->renewals}};
  effects.MarkDirty(ObjectKind::kLock, key);
  return result;
}

core::Result<boost::json::object> LockTable::Release(std::string_view name,
                                                     std::string_view session, core::TimePoint now,
                                                     Effects& effects) {
  if (auto status = ValidateName(name); !status.ok()) {
    return core::Err(std::move(status));
  }
  Expire(now, effects);
  if (FindHolder(name, session) == nullptr) {
    return core::Err(NotHolder(name, session));
  }
  const std::string key(name);
  const Holder holder = RemoveHolder(key, std::string(session));
  auto event = LockEvent("lock.released", key, session, holder.agent, holder.mode, holder.token);
  event.data["reason"] = "released";
  effects.events.push_back(std::move(event));
  effects.MarkDirty(ObjectKind::kLock, key);
  GrantWaiters({key}, now, effects);
  return boost::json::object{{"name", key}, {"session", session}, {"released", true}};
}

bool LockTable::CancelWait(std::uint64_t waiter, core::TimePoint now, Effects& effects) {
  if (!waiters_.contains(waiter)) {
    return false;
  }
  const Waiter request = Dequeue(waiter);
  GrantWaiters({request.names.begin(), request.names.end()}, now, effects);
  return true;
}

void LockTable::ReleaseSession(std::string_view session, core::TimePoint now, Effects& effects) {
  Expire(now, effects);
  std::set<std::string> touched;
  if (auto held = held_.find(session); held != held_.end()) {
    const std::set<std::string> names = held->second;
    for (const auto& name : names) {
      const Holder holder = RemoveHolder(name, std::string(session));
      auto event =
          LockEvent("lock.released", name, session, holder.agent, holder.mode, holder.token);
      event.data["reason"] = "session_ended";
      effects.events.push_back(std::move(event));
      effects.MarkDirty(ObjectKind::kLock, name);
      touched.insert(name);
    }
  }
  std::vector<std::uint64_t> ids;
  for (const auto& [id, request] : waiters_) {
    if (request.session == session) {
      ids.push_back(id);
    }
  }
  std::ranges::sort(ids);
  for (std::uint64_t id : ids) {
    const Waiter request = Dequeue(id);
    touched.insert(request.names.begin(), request.names.end());
    effects.wakeups.push_back(Wakeup{
        .waiter = id,
        .result = core::Err(core::NotFound(
            "unknown_session", "Session '" + request.session + "' ended while waiting.")),
    });
  }
  GrantWaiters(std::move(touched), now, effects);
}

void LockTable::Expire(core::TimePoint now, Effects& effects) {
  std::set<std::string> touched;
  while (!deadlines_.empty() && std::get<0>(*deadlines_.begin()) <= now) {
    const auto [at, name, session] = *deadlines_.begin();
    const Holder holder = RemoveHolder(name, session);
    auto event = LockEvent("lock.expired", name, session, holder.agent, holder.mode, holder.token);
    event.data["renewals"] = holder.renewals;
    effects.events.push_back(std::move(event));
    effects.MarkDirty(ObjectKind::kLock, name);
    touched.insert(name);
  }
  if (!touched.empty()) {
    GrantWaiters(std::move(touched), now, effects);
  }
}

std::optional<core::TimePoint> LockTable::NextDeadline() const {
  if (deadlines_.empty()) {
    return std::nullopt;
  }
  return std::get<0>(*deadlines_.begin());
}

}  // namespace agentmesh::coord
