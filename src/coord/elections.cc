// Leader elections (see elections.h).
#include "agentmesh/coord/elections.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "agentmesh/core/check.h"

namespace agentmesh::coord {
namespace {

boost::json::object MemberJson(std::string_view session, std::string_view agent,
                               std::string_view value) {
  return {{"session", session}, {"agent", agent}, {"value", value}};
}

core::Status UnknownElection(std::string_view name) {
  return core::NotFound("unknown_election", "No election named '" + std::string(name) +
                                                "' has a leader; campaign to create it.");
}

core::Status InvalidSnapshot(std::string_view name, std::string_view why) {
  return {core::StatusCode::kDataLoss, "invalid_snapshot",
          "Stored election '" + std::string(name) + "' is unreadable: " + std::string(why)};
}

}  // namespace

ElectionTable::ElectionTable(Sequencer& sequencer) : sequencer_(sequencer) {}

Outcome ElectionTable::Campaign(std::string_view name, std::string_view session,
                                std::string_view agent, std::string_view value,
                                std::uint64_t waiter, core::TimePoint now, Effects& effects) {
  if (core::Status s = ValidateName(name); !s.ok()) {
    return {.queued = false, .result = core::Err(std::move(s))};
  }
  Member member{std::string(session), std::string(agent), std::string(value)};
  auto it = elections_.find(name);
  if (it == elections_.end()) {
    it = elections_.emplace(std::string(name), Election{}).first;
    Elect(it, std::move(member), now, effects);
    return {.queued = false, .result = Leadership(it)};
  }
  Election& election = it->second;
  if (election.leader.session == session) {
    if (election.leader.value != value || election.leader.agent != agent) {
      election.leader.value = std::move(member.value);
      election.leader.agent = std::move(member.agent);
      effects.MarkDirty(ObjectKind::kElection, it->first);
    }
    return {.queued = false, .result = Leadership(it)};
  }
  AM_CHECK_MSG(!waiters_.contains(waiter), "waiter id reused while parked");
  auto queued = std::find_if(election.candidates.begin(), election.candidates.end(),
                             [&](const Candidate& c) { return c.member.session == session; });
  if (queued != election.candidates.end()) {
    waiters_.erase(queued->waiter);
    effects.wakeups.push_back(
        {queued->waiter, core::Err(core::FailedPrecondition(
                             "not_elected", "A newer campaign of the same session for '" +
                                                it->first + "' replaced this one."))});
    queued->member = std::move(member);
    queued->waiter = waiter;
  } else {
    election.candidates.push_back({std::move(member), waiter});
  }
  waiters_.emplace(waiter, it->first);
  return {.queued = true, .result = boost::json::object()};
}

core::Result<boost::json::object> ElectionTable::Resign(std::string_view name,
                                                        std::string_view session,
                                                        std::string_view successor,
                                                        core::TimePoint now, Effects& effects) {
  if (core::Status s = ValidateName(name); !s.ok()) {
    return core::Err(std::move(s));
  }
  auto it = elections_.find(name);
  if (it == elections_.end()) {
    return core::Err(UnknownElection(name));
  }
  Election& election = it->second;
  if (election.leader.session != session) {
    return core::Err(core::FailedPrecondition("not_leader", "Session '" + std::string(session) +
                                                                "' does not lead '" + it->first +
                                                                "'; only the leader may resign."));
  }
  auto chosen = election.candidates.end();
  if (!successor.empty()) {
    chosen = std::find_if(election.candidates.begin(), election.candidates.end(),
                          [&](const Candidate& c) {
                            return c.member.session == successor || c.member.agent == successor;
                          });
    if (chosen == election.candidates.end()) {
      return core::Err(core::FailedPrecondition(
          "successor_not_campaigning", "No candidate of '" + it->first + "' matches '" +
                                           std::string(successor) +
                                           "'; the successor must be campaigning to take over."));
    }
  }
  const std::string election_name = it->first;
  Emit("election.resigned", it, effects);
  effects.MarkDirty(ObjectKind::kElection, election_name);
  if (chosen != election.candidates.end()) {
    Candidate next = std::move(*chosen);
    election.candidates.erase(chosen);
    waiters_.erase(next.waiter);
    Elect(it, std::move(next.member), now, effects);
    effects.wakeups.push_back({next.waiter, Leadership(it)});
  } else {
    Succeed(it, now, effects);
  }
  it = elections_.find(election_name);
  boost::json::object out;
  if (it == elections_.end()) {
    out = {{"name", election_name}, {"leader", nullptr}};
  } else {
    out = Leadership(it);
  }
  out["resigned"] = true;
  return out;
}

void ElectionTable::ReleaseSession(std::string_view session, core::TimePoint now,
                                   Effects& effects) {
  std::vector<std::string> led;
  for (auto& [name, election] : elections_) {
    auto& queue = election.candidates;
    for (auto c = queue.begin(); c != queue.end();) {
      if (c->member.session != session) {
        ++c;
        continue;
      }
      waiters_.erase(c->waiter);
      effects.wakeups.push_back(
          {c->waiter,
           core::Err(core::NotFound("unknown_session", "Session '" + std::string(session) +
                                                           "' ended while campaigning for '" +
                                                           name + "'."))});
      c = queue.erase(c);
    }
    if (election.leader.session == session) {
      led.push_back(name);
    }
  }
  for (const std::string& name : led) {
    auto it = elections_.find(name);
    Emit("election.lost", it, effects);
    effects.MarkDirty(ObjectKind::kElection, name);
    Succeed(it, now, effects);
  }
}

bool ElectionTable::CancelWait(std::uint64_t waiter, Effects& /*effects*/) {
  auto w = waiters_.find(waiter);
  if (w == waiters_.end()) {
    return false;
  }
  auto it = elections_.find(w->second);
  AM_CHECK(it != elections_.end());
  std::erase_if(it->second.candidates, [&](const Candidate& c) { return c.waiter == waiter; });
  waiters_.erase(w);
  return true;
}

core::Result<boost::json::object> ElectionTable::Get(std::string_view name,
                                                     core::TimePoint now) const {
  auto it = elections_.find(name);
  if (it == elections_.end()) {
    return core::Err(UnknownElection(name));
  }
  boost::json::object out = Leadership(it);
  const auto held = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(now - it->second.elected_at, core::Duration::zero()));
  out["held_ms"] = held.count();
  out["candidates"] = it->second.candidates.size();
  return out;
}

boost::json::array ElectionTable::List(std::string_view prefix, core::TimePoint now) const {
  boost::json::array out;
  for (auto it = elections_.lower_bound(prefix);
       it != elections_.end() && it->first.starts_with(prefix); ++it) {
    out.push_back(*Get(it->first, now));
  }
  return out;
}

bool ElectionTable::Contains(std::string_view name) const { return elections_.contains(name); }

boost::json::object ElectionTable::Snapshot(std::string_view name) const {
  auto it = elections_.find(name);
  if (it == elections_.end()) {
    return {};
  }
  const Member& leader = it->second.leader;
  return {{"leader", MemberJson(leader.session, leader.agent, leader.value)},
          {"term", it->second.term}};
}

core::Status ElectionTable::Restore(std::string_view name, const boost::json::object& snapshot,
                                    core::TimePoint now) {
  if (core::Status s = ValidateName(name); !s.ok()) {
    return s;
  }
  Member leader;
  std::uint64_t term = 0;
  try {
    const boost::json::object& l = snapshot.at("leader").as_object();
    leader.session = l.at("session").as_string();
    leader.agent = l.at("agent").as_string();
    leader.value = l.at("value").as_string();
    term = snapshot.at("term").to_number<std::uint64_t>();
  } catch (const std::exception& e) {
    return InvalidSnapshot(name, e.what());
  }
  if (leader.session.empty() || term == 0) {
    return InvalidSnapshot(name, "it has no leader session or no term");
  }
  Election& election = elections_[std::string(name)];
  election.leader = std::move(leader);
  election.term = term;
  election.elected_at = now;
  return core::OkStatus();
}

void ElectionTable::Elect(Elections::iterator it, Member member, core::TimePoint now,
                          Effects& effects) {
  Election& election = it->second;
  election.leader = std::move(member);
  election.term = sequencer_.Next();
  election.elected_at = now;
  effects.MarkDirty(ObjectKind::kElection, it->first);
  Emit("election.elected", it, effects);
}

void ElectionTable::Succeed(Elections::iterator it, core::TimePoint now, Effects& effects) {
  Election& election = it->second;
  if (election.candidates.empty()) {
    effects.MarkDirty(ObjectKind::kElection, it->first);
    elections_.erase(it);
    return;
  }
  Candidate next = std::move(election.candidates.front());
  election.candidates.pop_front();
  waiters_.erase(next.waiter);
  Elect(it, std::move(next.member), now, effects);
  effects.wakeups.push_back({next.waiter, Leadership(it)});
}

void ElectionTable::Emit(std::string_view type, const Elections::const_iterator& it,
                         Effects& effects) {
  core::Event event;
  event.type = std::string(type);
  event.agent_id = it->second.leader.agent;
  event.data = Leadership(it);
  effects.events.push_back(std::move(event));
}

boost::json::object ElectionTable::Leadership(const Elections::const_iterator& it) {
  const Member& leader = it->second.leader;
  return {{"name", it->first},
          {"leader", MemberJson(leader.session, leader.agent, leader.value)},
          {"term", it->second.term}};
}

}  // namespace agentmesh::coord
