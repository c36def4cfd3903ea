// LockTable's options, modes, hierarchy levels, views and persistence (see locks.h).
#include <algorithm>
#include <set>
#include <utility>

#include <boost/json/array.hpp>

#include "agentmesh/coord/locks.h"

#include "lock_internal.h"

namespace agentmesh::coord {
namespace {

core::Status CorruptLock(std::string_view name, std::string_view why) {
  return {core::StatusCode::kDataLoss, "corrupt_lock",
          "Stored lock '" + std::string(name.substr(0, 200)) + "' " + std::string(why) + "."};
}

std::optional<std::uint64_t> AsUnsigned(const boost::json::value* value) {
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_uint64()) {
    return value->get_uint64();
  }
  if (value->is_int64() && value->get_int64() >= 0) {
    return static_cast<std::uint64_t>(value->get_int64());
  }
  return std::nullopt;
}

const boost::json::string* AsString(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? &value->get_string() : nullptr;
}

}  // namespace

std::string_view LockModeName(LockMode mode) {
  return mode == LockMode::kShared ? "shared" : "exclusive";
}

core::Result<LockMode> ParseLockMode(std::string_view text) {
  if (text == "exclusive") {
    return LockMode::kExclusive;
  }
  if (text == "shared") {
    return LockMode::kShared;
  }
  return core::Err(core::InvalidArgument(
      "invalid_argument",
      "Lock mode '" + std::string(text.substr(0, 64)) + "' is not \"exclusive\" or \"shared\"."));
}

core::Status Validate(const LockOptions& options) {
  const auto bad = [](std::string why) {
    return core::InvalidArgument("invalid_lock_options", std::move(why));
  };
  if (options.max_hold <= std::chrono::milliseconds::zero()) {
    return bad("max_hold must be positive");
  }
  if (options.max_renewals < 0) {
    return bad("max_renewals must not be negative");
  }
  if (options.max_set_size == 0) {
    return bad("max_set_size must be at least 1");
  }
  std::set<std::string_view> prefixes;
  for (const auto& rung : options.hierarchy) {
    if (rung.prefix.empty()) {
      return bad("hierarchy prefixes must not be empty");
    }
    if (!prefixes.insert(rung.prefix).second) {
      return bad("hierarchy prefix '" + rung.prefix + "' appears twice");
    }
  }
  return core::OkStatus();
}

std::optional<int> LockLevelOf(const std::vector<LockLevel>& hierarchy, std::string_view name) {
  const LockLevel* best = nullptr;
  for (const auto& rung : hierarchy) {
    if (name.starts_with(rung.prefix) &&
        (best == nullptr || rung.prefix.size() > best->prefix.size())) {
      best = &rung;
    }
  }
  return best == nullptr ? std::nullopt : std::optional<int>(best->level);
}

core::Status CheckLockOrder(const std::vector<LockLevel>& hierarchy, std::string_view session,
                            const std::set<std::string>& held,
                            const std::vector<std::string>& missing) {
  std::optional<int> top;
  const std::string* top_name = nullptr;
  for (const auto& name : held) {
    const auto level = LockLevelOf(hierarchy, name);
    if (level && (!top || *level > *top)) {
      top = level;
      top_name = &name;
    }
  }
  if (!top) {
    return core::OkStatus();
  }
  for (const auto& name : missing) {
    const auto level = LockLevelOf(hierarchy, name);
    if (level && *level < *top) {
      return core::FailedPrecondition(
          "lock_order_violation", "Lock '" + name + "' (level " + std::to_string(*level) +
                                      ") may not be taken while '" + std::string(session) +
                                      "' holds '" + *top_name + "' (level " + std::to_string(*top) +
                                      "); take lower levels first.");
    }
  }
  return core::OkStatus();
}

std::optional<int> LockTable::LevelOf(std::string_view name) const {
  return LockLevelOf(options_.hierarchy, name);
}

core::Result<boost::json::object> LockTable::Get(std::string_view name, core::TimePoint now) const {
  if (auto status = ValidateName(name); !status.ok()) {
    return core::Err(std::move(status));
  }
  boost::json::array holders;
  std::size_t waiting = 0;
  if (auto lock = locks_.find(name); lock != locks_.end()) {
    for (const Holder& holder : lock->second.holders) {
      if (holder.expires_at <= now) {
        continue;  // taken back at the next Expire
      }
      holders.push_back(
          boost::json::object{{"session", holder.session},
                              {"agent", holder.agent},
                              {"mode", LockModeName(holder.mode)},
                              {"token", holder.token},
                              {"expires_in_ms", lock_internal::RemainingMs(holder.expires_at, now)},
                              {"renewals", holder.renewals}});
    }
    waiting = lock->second.queue.size();
  }
  return boost::json::object{{"name", name}, {"holders", std::move(holders)}, {"waiters", waiting}};
}

bool LockTable::Has(std::string_view name) const {
  auto lock = locks_.find(name);
  return lock != locks_.end() && !lock->second.holders.empty();
}

boost::json::object LockTable::Snapshot(std::string_view name) const {
  boost::json::array holders;
  if (auto lock = locks_.find(name); lock != locks_.end()) {
    for (const Holder& holder : lock->second.holders) {
      holders.push_back(boost::json::object{{"session", holder.session},
                                            {"agent", holder.agent},
                                            {"mode", LockModeName(holder.mode)},
                                            {"token", holder.token},
                                            {"renewals", holder.renewals}});
    }
  }
  return boost::json::object{{"holders", std::move(holders)}};
}

core::Status LockTable::Restore(std::string_view name, const boost::json::object& state,
                                core::TimePoint now) {
  if (!ValidateName(name).ok()) {
    return CorruptLock(name, "has an invalid name");
  }
  const auto* list = state.if_contains("holders");
  if (list == nullptr || !list->is_array()) {
    return CorruptLock(name, "has no \"holders\" array");
  }
  std::vector<Holder> restored;
  for (const auto& entry : list->get_array()) {
    if (!entry.is_object()) {
      return CorruptLock(name, "has a holder that is not an object");
    }
    const auto& object = entry.get_object();
    const auto* session = AsString(object, "session");
    const auto* agent = AsString(object, "agent");
    const auto* mode_text = AsString(object, "mode");
    const auto token = AsUnsigned(object.if_contains("token"));
    const auto renewals = AsUnsigned(object.if_contains("renewals"));
    if (session == nullptr || session->empty() || agent == nullptr || mode_text == nullptr ||
        !token || *token == 0 || !renewals) {
      return CorruptLock(name, "has a holder without session, agent, mode, token or renewals");
    }
    const auto mode = ParseLockMode(*mode_text);
    if (!mode) {
      return CorruptLock(name, "has a holder with an unknown mode");
    }
    if (std::ranges::find(restored, std::string_view(*session), &Holder::session) !=
        restored.end()) {
      return CorruptLock(name, "lists a session twice");
    }
    restored.push_back(Holder{.session = std::string(*session),
                              .agent = std::string(*agent),
                              .mode = *mode,
                              .token = *token,
                              .expires_at = now + options_.max_hold,
                              .renewals = static_cast<int>(std::min<std::uint64_t>(
                                  *renewals, static_cast<std::uint64_t>(options_.max_renewals)))});
  }
  const bool exclusive =
      std::ranges::any_of(restored, [](const Holder& h) { return h.mode == LockMode::kExclusive; });
  if (exclusive && restored.size() > 1) {
    return CorruptLock(name, "has an exclusive holder alongside others");
  }
  const std::string key(name);
  if (auto lock = locks_.find(key); lock != locks_.end()) {
    std::vector<std::string> sessions;
    for (const Holder& holder : lock->second.holders) {
      sessions.push_back(holder.session);
    }
    for (const auto& session : sessions) {
      RemoveHolder(key, session);
    }
  }
  for (auto& holder : restored) {
    AddHolder(key, std::move(holder));
  }
  return core::OkStatus();
}

}  // namespace agentmesh::coord
