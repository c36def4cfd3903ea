// LockTable's queue machinery: the FIFO grant rule, grants, dequeues and the holder
// indexes (see locks.h for the fairness and deadlock-freedom argument).
#include <algorithm>
#include <utility>

#include "agentmesh/coord/locks.h"
#include "agentmesh/core/check.h"

#include "lock_internal.h"

namespace agentmesh::coord {

using lock_internal::LockEvent;
using lock_internal::RemainingMs;

core::Status LockTable::CheckOrder(const std::string& session,
                                   const std::vector<std::string>& missing) const {
  auto held = held_.find(session);
  if (held == held_.end()) {
    return core::OkStatus();
  }
  return CheckLockOrder(options_.hierarchy, session, held->second, missing);
}

bool LockTable::Grantable(const Waiter& request, std::uint64_t id, bool queued) const {
  const auto compatible = [&](LockMode other) {
    return request.mode == LockMode::kShared && other == LockMode::kShared;
  };
  for (const auto& name : request.names) {
    auto it = locks_.find(name);
    if (it == locks_.end()) {
      continue;
    }
    if (const Holder* own = FindHolder(name, request.session)) {
      if (own->mode != request.mode) {
        return false;
      }
      continue;  // already held: the requests queued here wait for this session
    }
    for (const Holder& holder : it->second.holders) {
      if (!compatible(holder.mode)) {
        return false;
      }
    }
    for (std::uint64_t ahead : it->second.queue) {
      if (queued && ahead == id) {
        break;
      }
      if (!compatible(waiters_.at(ahead).mode)) {
        return false;
      }
    }
  }
  return true;
}

boost::json::object LockTable::Grant(const Waiter& request, core::TimePoint now, Effects& effects) {
  for (const auto& name : request.names) {
    if (FindHolder(name, request.session) != nullptr) {
      continue;  // held before the request or granted to another request of the session
    }
    Holder holder{.session = request.session,
                  .agent = request.agent,
                  .mode = request.mode,
                  .token = sequencer_.Next(),
                  .expires_at = now + options_.max_hold,
                  .renewals = 0};
    effects.events.push_back(
        LockEvent("lock.acquired", name, holder.session, holder.agent, holder.mode, holder.token));
    effects.MarkDirty(ObjectKind::kLock, name);
    AddHolder(name, std::move(holder));
  }
  return ResultOf(request, now);
}

void LockTable::GrantWaiters(std::set<std::string> names, core::TimePoint now, Effects& effects) {
  while (!names.empty()) {
    const std::string name = std::move(names.extract(names.begin()).value());
    auto lock = locks_.find(name);
    if (lock == locks_.end()) {
      continue;
    }
    const std::vector<std::uint64_t> queue(lock->second.queue.begin(), lock->second.queue.end());
    for (std::uint64_t id : queue) {
      auto waiter = waiters_.find(id);
      if (waiter == waiters_.end()) {
        continue;
      }
      if (!Grantable(waiter->second, id, /*queued=*/true)) {
        if (waiter->second.mode == LockMode::kExclusive) {
          break;  // everyone behind it here waits for it
        }
        continue;
      }
      const Waiter request = Dequeue(id);
      effects.wakeups.push_back(Wakeup{.waiter = id, .result = Grant(request, now, effects)});
      for (const auto& other : request.names) {
        if (other != name) {
          names.insert(other);
        }
      }
    }
    EraseIfUnused(name);
  }
}

LockTable::Waiter LockTable::Dequeue(std::uint64_t id) {
  auto node = waiters_.extract(id);
  AM_CHECK(!node.empty());
  for (const auto& name : node.mapped().names) {
    auto& queue = locks_.find(name)->second.queue;
    auto it = std::ranges::find(queue, id);
    AM_CHECK(it != queue.end());
    queue.erase(it);
  }
  return std::move(node.mapped());
}

void LockTable::AddHolder(const std::string& name, Holder holder) {
  deadlines_.emplace(holder.expires_at, name, holder.session);
  held_[holder.session].insert(name);
  locks_[name].holders.push_back(std::move(holder));
}

LockTable::Holder LockTable::RemoveHolder(const std::string& name, const std::string& session) {
  auto lock = locks_.find(name);
  AM_CHECK(lock != locks_.end());
  auto& holders = lock->second.holders;
  auto it = std::ranges::find(holders, session, &Holder::session);
  AM_CHECK(it != holders.end());
  Holder holder = std::move(*it);
  holders.erase(it);
  deadlines_.erase({holder.expires_at, name, session});
  auto held = held_.find(session);
  held->second.erase(name);
  if (held->second.empty()) {
    held_.erase(held);
  }
  EraseIfUnused(name);
  return holder;
}

void LockTable::EraseIfUnused(const std::string& name) {
  auto lock = locks_.find(name);
  if (lock != locks_.end() && lock->second.holders.empty() && lock->second.queue.empty()) {
    locks_.erase(lock);
  }
}

const LockTable::Holder* LockTable::FindHolder(std::string_view name,
                                               std::string_view session) const {
  auto lock = locks_.find(name);
  if (lock == locks_.end()) {
    return nullptr;
  }
  auto it = std::ranges::find(lock->second.holders, session, &Holder::session);
  return it == lock->second.holders.end() ? nullptr : &*it;
}

boost::json::object LockTable::ResultOf(const Waiter& request, core::TimePoint now) const {
  boost::json::object tokens;
  std::optional<core::TimePoint> earliest;
  for (const auto& name : request.names) {
    const Holder* holder = FindHolder(name, request.session);
    AM_CHECK(holder != nullptr);
    tokens[name] = holder->token;
    if (!earliest || holder->expires_at < *earliest) {
      earliest = holder->expires_at;
    }
  }
  boost::json::object result;
  if (request.is_set) {
    boost::json::array names(request.names.begin(), request.names.end());
    result["names"] = std::move(names);
    result["tokens"] = std::move(tokens);
  } else {
    result["name"] = request.names.front();
    result["token"] = tokens.begin()->value();
  }
  result["mode"] = LockModeName(request.mode);
  result["session"] = request.session;
  result["expires_in_ms"] = RemainingMs(*earliest, now);
  return result;
}

}  // namespace agentmesh::coord
