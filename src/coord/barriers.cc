// Barriers (see barriers.h).
#include "agentmesh/coord/barriers.h"

#include <algorithm>
#include <exception>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "agentmesh/core/check.h"
#include "agentmesh/core/duration.h"
#include "agentmesh/core/ids.h"

namespace agentmesh::coord {
namespace {

using std::chrono::milliseconds;

bool HasItem(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The participants that have not arrived, in participant order.
boost::json::array Missing(const std::vector<std::string>& participants,
                           const std::vector<std::string>& arrived) {
  const std::set<std::string_view> here(arrived.begin(), arrived.end());
  boost::json::array out;
  for (const std::string& p : participants) {
    if (!here.contains(p)) {
      out.emplace_back(p);
    }
  }
  return out;
}

boost::json::array ToArray(const std::vector<std::string>& v) {
  boost::json::array out;
  out.reserve(v.size());
  for (const std::string& s : v) {
    out.emplace_back(s);
  }
  return out;
}

std::int64_t RemainingMs(core::TimePoint deadline, core::TimePoint now) {
  return std::chrono::ceil<milliseconds>(std::max(deadline - now, core::Duration::zero())).count();
}

core::Status UnknownBarrier(std::string_view name) {
  return core::NotFound("unknown_barrier", "No barrier named '" + std::string(name) + "'.");
}

core::Status BarrierExpired(std::string_view name) {
  return core::FailedPrecondition(
      "barrier_expired", "Barrier '" + std::string(name) + "' expired before everyone arrived.");
}

core::Status InvalidSnapshot(std::string_view name, std::string_view why) {
  return {core::StatusCode::kDataLoss, "invalid_snapshot",
          "Stored barrier '" + std::string(name) + "' is unreadable: " + std::string(why)};
}

core::Status CheckParticipants(const std::vector<std::string>& participants, std::size_t max) {
  if (participants.empty() || participants.size() > max) {
    return core::InvalidArgument("invalid_argument",
                                 "A barrier needs 1 to " + std::to_string(max) + " participants.");
  }
  std::set<std::string_view> seen;
  for (const std::string& p : participants) {
    if (core::Status s = core::ValidateId(p, "participant"); !s.ok()) {
      return core::InvalidArgument("invalid_argument", s.message());
    }
    if (!seen.insert(p).second) {
      return core::InvalidArgument("invalid_argument",
                                   "Participant '" + p + "' is listed more than once.");
    }
  }
  return core::OkStatus();
}

}  // namespace

core::Status Validate(const BarrierOptions& options) {
  const auto bad = [](std::string_view field, std::string_view why) {
    return core::InvalidArgument("invalid_barrier_options",
                                 "Barrier option " + std::string(field) + " " + std::string(why));
  };
  if (options.min_ttl <= core::Duration::zero()) {
    return bad("min_ttl", "must be positive.");
  }
  if (options.max_ttl < options.min_ttl) {
    return bad("max_ttl", "must not be below min_ttl.");
  }
  if (options.default_ttl < options.min_ttl || options.default_ttl > options.max_ttl) {
    return bad("default_ttl", "must lie within [min_ttl, max_ttl].");
  }
  if (options.max_participants == 0) {
    return bad("max_participants", "must be at least 1.");
  }
  return core::OkStatus();
}

BarrierTable::BarrierTable(BarrierOptions options) : options_(std::move(options)) {
  AM_CHECK(Validate(options_).ok());
}

core::Result<boost::json::object> BarrierTable::Create(std::string_view name,
                                                       std::vector<std::string> participants,
                                                       core::Duration ttl, core::TimePoint now,
                                                       Effects& effects) {
  if (core::Status s = ValidateName(name); !s.ok()) {
    return core::Err(std::move(s));
  }
  if (core::Status s = CheckParticipants(participants, options_.max_participants); !s.ok()) {
    return core::Err(std::move(s));
  }
  if (ttl == core::Duration::zero()) {
    ttl = options_.default_ttl;
  }
  if (ttl < options_.min_ttl || ttl > options_.max_ttl) {
    return core::Err(core::InvalidArgument(
        "invalid_ttl", "Barrier ttl must lie within " + core::FormatDuration(options_.min_ttl) +
                           " and " + core::FormatDuration(options_.max_ttl) + "."));
  }
  if (auto it = barriers_.find(name); it != barriers_.end()) {
    if (now < it->second.expires_at) {
      return core::Err(
          core::Status(core::StatusCode::kAlreadyExists, "barrier_exists",
                       "Barrier '" + std::string(name) + "' exists until it expires."));
    }
    ExpireOne(it, effects);
  }
  Barrier barrier;
  barrier.participants = std::move(participants);
  barrier.ttl = ttl;
  barrier.expires_at = now + ttl;
  barrier.changed_at = now;
  Insert(std::string(name), std::move(barrier));
  effects.MarkDirty(ObjectKind::kBarrier, std::string(name));
  return View(barriers_.find(name), now);
}

Outcome BarrierTable::Arrive(std::string_view name, std::string_view participant,
                             std::uint64_t waiter, core::TimePoint now, Effects& effects) {
  auto it = barriers_.find(name);
  if (it == barriers_.end()) {
    return {.queued = false, .result = core::Err(UnknownBarrier(name))};
  }
  Barrier& barrier = it->second;
  if (now >= barrier.expires_at) {
    const bool complete = barrier.complete();
    ExpireOne(it, effects);
    if (!complete) {
      return {.queued = false, .result = core::Err(BarrierExpired(name))};
    }
    return {.queued = false, .result = core::Err(UnknownBarrier(name))};
  }
  if (!HasItem(barrier.participants, participant)) {
    return {.queued = false,
            .result = core::Err(core::FailedPrecondition(
                "not_participant", "'" + std::string(participant) +
                                       "' is not a participant of barrier '" + it->first + "'."))};
  }
  if (barrier.complete()) {
    return {.queued = false, .result = View(it, now)};
  }
  if (!HasItem(barrier.arrived, participant)) {
    barrier.arrived.emplace_back(participant);
    barrier.changed_at = now;
    effects.MarkDirty(ObjectKind::kBarrier, it->first);
  }
  if (!barrier.complete()) {
    AM_CHECK_MSG(!waiters_.contains(waiter), "waiter id reused while parked");
    barrier.waiters.emplace_back(waiter, std::string(participant));
    waiters_.emplace(waiter, it->first);
    return {.queued = true, .result = boost::json::object()};
  }
  boost::json::object view = View(it, now);
  for (const auto& [parked, who] : barrier.waiters) {
    waiters_.erase(parked);
    effects.wakeups.push_back({parked, view});
  }
  barrier.waiters.clear();
  core::Event event;
  event.type = "barrier.completed";
  event.agent_id = std::string(participant);
  event.data = {{"name", it->first}, {"arrived", ToArray(barrier.arrived)}};
  effects.events.push_back(std::move(event));
  return {.queued = false, .result = std::move(view)};
}

bool BarrierTable::CancelWait(std::uint64_t waiter, Effects& /*effects*/) {
  auto w = waiters_.find(waiter);
  if (w == waiters_.end()) {
    return false;
  }
  auto it = barriers_.find(w->second);
  AM_CHECK(it != barriers_.end());
  std::erase_if(it->second.waiters, [&](const auto& p) { return p.first == waiter; });
  waiters_.erase(w);
  return true;
}

core::Result<boost::json::object> BarrierTable::Get(std::string_view name,
                                                    core::TimePoint now) const {
  auto it = barriers_.find(name);
  if (it == barriers_.end()) {
    return core::Err(UnknownBarrier(name));
  }
  return View(it, now);
}

std::optional<core::TimePoint> BarrierTable::NextDeadline() const {
  if (deadlines_.empty()) {
    return std::nullopt;
  }
  return deadlines_.begin()->first;
}

void BarrierTable::Expire(core::TimePoint now, Effects& effects) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto it = barriers_.find(deadlines_.begin()->second);
    AM_CHECK(it != barriers_.end());
    ExpireOne(it, effects);
  }
}

bool BarrierTable::Contains(std::string_view name) const { return barriers_.contains(name); }

boost::json::object BarrierTable::Snapshot(std::string_view name) const {
  auto it = barriers_.find(name);
  if (it == barriers_.end()) {
    return {};
  }
  const Barrier& b = it->second;
  return {{"participants", ToArray(b.participants)},
          {"arrived", ToArray(b.arrived)},
          {"ttl_ms", std::chrono::ceil<milliseconds>(b.ttl).count()},
          {"expires_in_ms", RemainingMs(b.expires_at, b.changed_at)}};
}

core::Status BarrierTable::Restore(std::string_view name, const boost::json::object& snapshot,
                                   core::TimePoint now) {
  if (core::Status s = ValidateName(name); !s.ok()) {
    return s;
  }
  Barrier barrier;
  try {
    for (const boost::json::value& p : snapshot.at("participants").as_array()) {
      barrier.participants.emplace_back(p.as_string());
    }
    for (const boost::json::value& p : snapshot.at("arrived").as_array()) {
      barrier.arrived.emplace_back(p.as_string());
    }
    barrier.ttl = milliseconds(snapshot.at("ttl_ms").to_number<std::int64_t>());
    barrier.expires_at = now + milliseconds(snapshot.at("expires_in_ms").to_number<std::int64_t>());
  } catch (const std::exception& e) {
    return InvalidSnapshot(name, e.what());
  }
  if (core::Status s = CheckParticipants(barrier.participants, options_.max_participants);
      !s.ok()) {
    return InvalidSnapshot(name, s.message());
  }
  const std::set<std::string_view> arrived(barrier.arrived.begin(), barrier.arrived.end());
  if (arrived.size() != barrier.arrived.size() ||
      !std::all_of(barrier.arrived.begin(), barrier.arrived.end(),
                   [&](const std::string& a) { return HasItem(barrier.participants, a); })) {
    return InvalidSnapshot(name, "its arrivals do not match its participants");
  }
  barrier.changed_at = now;
  if (auto it = barriers_.find(name); it != barriers_.end()) {
    deadlines_.erase({it->second.expires_at, it->first});
    for (const auto& [parked, who] : it->second.waiters) {
      waiters_.erase(parked);
    }
    barriers_.erase(it);
  }
  Insert(std::string(name), std::move(barrier));
  return core::OkStatus();
}

void BarrierTable::ExpireOne(Barriers::iterator it, Effects& effects) {
  Barrier& barrier = it->second;
  if (!barrier.complete()) {
    for (const auto& [parked, who] : barrier.waiters) {
      waiters_.erase(parked);
      effects.wakeups.push_back({parked, core::Err(BarrierExpired(it->first))});
    }
    core::Event event;
    event.type = "barrier.expired";
    event.data = {{"name", it->first},
                  {"arrived", ToArray(barrier.arrived)},
                  {"missing", Missing(barrier.participants, barrier.arrived)}};
    effects.events.push_back(std::move(event));
  }
  effects.MarkDirty(ObjectKind::kBarrier, it->first);
  deadlines_.erase({barrier.expires_at, it->first});
  barriers_.erase(it);
}

void BarrierTable::Insert(std::string name, Barrier barrier) {
  deadlines_.emplace(barrier.expires_at, name);
  barriers_.emplace(std::move(name), std::move(barrier));
}

boost::json::object BarrierTable::View(const Barriers::const_iterator& it, core::TimePoint now) {
  const Barrier& b = it->second;
  return {{"name", it->first},
          {"participants", ToArray(b.participants)},
          {"arrived", ToArray(b.arrived)},
          {"missing", Missing(b.participants, b.arrived)},
          {"complete", b.complete()},
          {"ttl", core::FormatDuration(b.ttl)},
          {"expires_in_ms", RemainingMs(b.expires_at, now)}};
}

}  // namespace agentmesh::coord
