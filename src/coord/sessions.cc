// Sessions with a TTL (see sessions.h).
#include "agentmesh/coord/sessions.h"

#include <algorithm>
#include <cstdint>

#include "agentmesh/core/check.h"
#include "agentmesh/core/duration.h"
#include "agentmesh/core/ids.h"

namespace agentmesh::coord {
namespace {

using std::chrono::milliseconds;

std::int64_t RemainingMs(core::TimePoint deadline, core::TimePoint now) {
  if (deadline <= now) {
    return 0;
  }
  return std::chrono::ceil<milliseconds>(deadline - now).count();
}

core::Status UnknownSession(std::string_view id) {
  return core::NotFound("unknown_session",
                        "Session '" + std::string(id.substr(0, 128)) +
                            "' does not exist; it expired or was destroyed. Create a new one.");
}

core::Status CorruptSession(std::string_view id, std::string_view why) {
  return {core::StatusCode::kDataLoss, "corrupt_session",
          "Stored session '" + std::string(id) + "' " + std::string(why) + "."};
}

core::Event MakeEvent(std::string type, const std::string& agent, std::string_view id) {
  core::Event event;
  event.type = std::move(type);
  event.agent_id = agent;
  event.data["session"] = id;
  return event;
}

}  // namespace

core::Status Validate(const SessionOptions& options) {
  const auto bad = [](std::string_view why) {
    return core::InvalidArgument("invalid_session_options", std::string(why));
  };
  if (options.min_ttl <= milliseconds::zero()) {
    return bad("min_ttl must be positive");
  }
  if (options.max_ttl < options.min_ttl) {
    return bad("max_ttl must not be below min_ttl");
  }
  if (options.default_ttl < options.min_ttl || options.default_ttl > options.max_ttl) {
    return bad("default_ttl must lie within [min_ttl, max_ttl]");
  }
  return core::OkStatus();
}

SessionTable::SessionTable(const SessionOptions& options) : options_(options) {
  AM_CHECK_MSG(Validate(options_).ok(), "invalid SessionOptions");
}

core::Result<boost::json::object> SessionTable::Create(std::string_view id, std::string_view agent,
                                                       std::optional<core::Duration> ttl,
                                                       core::TimePoint now, Effects& effects) {
  for (const auto& [value, what] : {std::pair{id, "session"}, std::pair{agent, "agent"}}) {
    if (auto status = core::ValidateId(value, what); !status.ok()) {
      return core::Err(core::InvalidArgument("invalid_argument", status.message()));
    }
  }
  const core::Duration chosen = ttl.value_or(options_.default_ttl);
  if (chosen < options_.min_ttl || chosen > options_.max_ttl) {
    return core::Err(core::InvalidArgument(
        "invalid_ttl", "Session TTL " + core::FormatDuration(chosen) + " is outside [" +
                           core::FormatDuration(options_.min_ttl) + ", " +
                           core::FormatDuration(options_.max_ttl) + "]."));
  }
  if (sessions_.contains(id)) {
    return core::Err(core::Status(core::StatusCode::kAlreadyExists, "session_exists",
                                  "Session '" + std::string(id) + "' already exists."));
  }
  Insert(std::string(id), Session{std::string(agent), chosen, now + chosen});
  effects.MarkDirty(ObjectKind::kSession, std::string(id));
  auto event = MakeEvent("session.created", std::string(agent), id);
  event.data["ttl"] = core::FormatDuration(chosen);
  effects.events.push_back(std::move(event));
  return boost::json::object{{"id", id}, {"agent", agent}, {"ttl", core::FormatDuration(chosen)}};
}

core::Result<boost::json::object> SessionTable::Renew(std::string_view id, core::TimePoint now) {
  if (FindLive(id, now) == nullptr) {
    return core::Err(UnknownSession(id));
  }
  auto it = sessions_.find(id);
  SetExpiry(it, now + it->second.ttl);
  return boost::json::object{{"id", id},
                             {"ttl", core::FormatDuration(it->second.ttl)},
                             {"expires_in_ms", RemainingMs(it->second.expires_at, now)}};
}

core::Result<boost::json::object> SessionTable::Destroy(std::string_view id, core::TimePoint now,
                                                        Effects& effects) {
  if (FindLive(id, now) == nullptr) {
    return core::Err(UnknownSession(id));
  }
  auto it = sessions_.find(id);
  effects.events.push_back(MakeEvent("session.destroyed", it->second.agent, id));
  effects.MarkDirty(ObjectKind::kSession, it->first);
  deadlines_.erase({it->second.expires_at, it->first});
  sessions_.erase(it);
  return boost::json::object{{"id", id}, {"destroyed", true}};
}

core::Result<boost::json::object> SessionTable::Get(std::string_view id,
                                                    core::TimePoint now) const {
  const Session* session = FindLive(id, now);
  if (session == nullptr) {
    return core::Err(UnknownSession(id));
  }
  return boost::json::object{{"id", id},
                             {"agent", session->agent},
                             {"ttl", core::FormatDuration(session->ttl)},
                             {"expires_in_ms", RemainingMs(session->expires_at, now)}};
}

core::Result<std::string> SessionTable::AgentOf(std::string_view id, core::TimePoint now) const {
  const Session* session = FindLive(id, now);
  if (session == nullptr) {
    return core::Err(UnknownSession(id));
  }
  return session->agent;
}

std::vector<std::string> SessionTable::Expire(core::TimePoint now, Effects& effects) {
  std::vector<std::string> expired;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    std::string id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    auto it = sessions_.find(id);
    AM_CHECK(it != sessions_.end());
    auto event = MakeEvent("session.expired", it->second.agent, id);
    event.data["ttl"] = core::FormatDuration(it->second.ttl);
    effects.events.push_back(std::move(event));
    effects.MarkDirty(ObjectKind::kSession, id);
    sessions_.erase(it);
    expired.push_back(std::move(id));
  }
  return expired;
}

std::optional<core::TimePoint> SessionTable::NextDeadline() const {
  if (deadlines_.empty()) {
    return std::nullopt;
  }
  return deadlines_.begin()->first;
}

bool SessionTable::Has(std::string_view id) const { return sessions_.contains(id); }

boost::json::object SessionTable::Snapshot(std::string_view id) const {
  auto it = sessions_.find(id);
  AM_CHECK_MSG(it != sessions_.end(), "Snapshot of an unknown session");
  return boost::json::object{{"agent", it->second.agent},
                             {"ttl_ms", std::chrono::ceil<milliseconds>(it->second.ttl).count()}};
}

core::Status SessionTable::Restore(std::string_view id, const boost::json::object& state,
                                   core::TimePoint now) {
  const auto* agent = state.if_contains("agent");
  const auto* ttl_ms = state.if_contains("ttl_ms");
  if (agent == nullptr || !agent->is_string() || ttl_ms == nullptr || !ttl_ms->is_int64() ||
      ttl_ms->as_int64() <= 0) {
    return CorruptSession(id, "needs a string \"agent\" and a positive integer \"ttl_ms\"");
  }
  if (!core::ValidateId(id, "session").ok() ||
      !core::ValidateId(agent->as_string(), "agent").ok()) {
    return CorruptSession(id, "has an invalid id or agent");
  }
  const core::Duration ttl = milliseconds(ttl_ms->as_int64());
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    deadlines_.erase({it->second.expires_at, it->first});
    sessions_.erase(it);
  }
  Insert(std::string(id), Session{std::string(agent->as_string()), ttl, now + ttl});
  return core::OkStatus();
}

const SessionTable::Session* SessionTable::FindLive(std::string_view id,
                                                    core::TimePoint now) const {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.expires_at <= now) {
    return nullptr;
  }
  return &it->second;
}

void SessionTable::Insert(std::string id, Session session) {
  deadlines_.emplace(session.expires_at, id);
  sessions_.emplace(std::move(id), std::move(session));
}

void SessionTable::SetExpiry(Map::iterator it, core::TimePoint expires_at) {
  deadlines_.erase({it->second.expires_at, it->first});
  it->second.expires_at = expires_at;
  deadlines_.emplace(expires_at, it->first);
}

}  // namespace agentmesh::coord
