// The facade over the coordination tables (see coordinator.h).
#include "agentmesh/coord/coordinator.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace agentmesh::coord {
namespace {

constexpr std::string_view kTokensObject = "tokens";

core::Result<boost::json::object> ParseObject(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) {
    return core::Err(core::Status(core::StatusCode::kDataLoss, "invalid_snapshot",
                                  "stored object is not a JSON object"));
  }
  return std::move(v.as_object());
}

Outcome Failed(core::Status status) { return Outcome{false, core::Err(std::move(status))}; }

}  // namespace

Coordinator::Coordinator(CoordinatorOptions options)
    : sessions_(options.sessions),
      locks_(std::move(options.locks), sequencer_),
      elections_(sequencer_),
      barriers_(options.barriers),
      proposals_(std::move(options.proposals)) {}

core::Result<boost::json::object> Coordinator::CreateSession(std::string_view id,
                                                             std::string_view agent,
                                                             std::optional<core::Duration> ttl,
                                                             core::TimePoint now,
                                                             Effects& effects) {
  return sessions_.Create(id, agent, ttl, now, effects);
}

core::Result<boost::json::object> Coordinator::RenewSession(std::string_view id,
                                                            core::TimePoint now, Effects&) {
  return sessions_.Renew(id, now);
}

core::Result<boost::json::object> Coordinator::DestroySession(std::string_view id,
                                                              core::TimePoint now,
                                                              Effects& effects) {
  auto destroyed = sessions_.Destroy(id, now, effects);
  if (destroyed) {
    EndSession(std::string(id), now, effects);
  }
  return destroyed;
}

core::Result<boost::json::object> Coordinator::GetSession(std::string_view id,
                                                          core::TimePoint now) const {
  return sessions_.Get(id, now);
}

void Coordinator::EndSession(const std::string& id, core::TimePoint now, Effects& effects) {
  locks_.ReleaseSession(id, now, effects);
  elections_.ReleaseSession(id, now, effects);
}

Outcome Coordinator::AcquireLock(std::string_view name, std::string_view session, LockMode mode,
                                 std::uint64_t waiter, core::TimePoint now, Effects& effects) {
  auto agent = sessions_.AgentOf(session, now);
  if (!agent) {
    return Failed(agent.error());
  }
  return locks_.Acquire(name, session, *agent, mode, waiter, now, effects);
}

Outcome Coordinator::AcquireLockSet(std::vector<std::string> names, std::string_view session,
                                    LockMode mode, std::uint64_t waiter, core::TimePoint now,
                                    Effects& effects) {
  auto agent = sessions_.AgentOf(session, now);
  if (!agent) {
    return Failed(agent.error());
  }
  return locks_.AcquireSet(std::move(names), session, *agent, mode, waiter, now, effects);
}

core::Result<boost::json::object> Coordinator::ReleaseLock(std::string_view name,
                                                           std::string_view session,
                                                           core::TimePoint now, Effects& effects) {
  return locks_.Release(name, session, now, effects);
}

core::Result<boost::json::object> Coordinator::RenewLock(std::string_view name,
                                                         std::string_view session,
                                                         core::TimePoint now, Effects& effects) {
  if (auto agent = sessions_.AgentOf(session, now); !agent) {
    return core::Err(agent.error());
  }
  return locks_.Renew(name, session, now, effects);
}

core::Result<boost::json::object> Coordinator::GetLock(std::string_view name,
                                                       core::TimePoint now) const {
  return locks_.Get(name, now);
}

Outcome Coordinator::Campaign(std::string_view name, std::string_view session,
                              std::string_view value, std::uint64_t waiter, core::TimePoint now,
                              Effects& effects) {
  auto agent = sessions_.AgentOf(session, now);
  if (!agent) {
    return Failed(agent.error());
  }
  return elections_.Campaign(name, session, *agent, value, waiter, now, effects);
}

core::Result<boost::json::object> Coordinator::Resign(std::string_view name,
                                                      std::string_view session,
                                                      std::string_view successor,
                                                      core::TimePoint now, Effects& effects) {
  return elections_.Resign(name, session, successor, now, effects);
}

core::Result<boost::json::object> Coordinator::GetElection(std::string_view name,
                                                           core::TimePoint now) const {
  return elections_.Get(name, now);
}

boost::json::array Coordinator::ListElections(std::string_view prefix, core::TimePoint now) const {
  return elections_.List(prefix, now);
}

core::Result<boost::json::object> Coordinator::CreateBarrier(std::string_view name,
                                                             std::vector<std::string> participants,
                                                             std::optional<core::Duration> ttl,
                                                             core::TimePoint now,
                                                             Effects& effects) {
  return barriers_.Create(name, std::move(participants), ttl.value_or(core::Duration::zero()), now,
                          effects);
}

Outcome Coordinator::Arrive(std::string_view name, std::string_view participant,
                            std::uint64_t waiter, core::TimePoint now, Effects& effects) {
  return barriers_.Arrive(name, participant, waiter, now, effects);
}

core::Result<boost::json::object> Coordinator::GetBarrier(std::string_view name,
                                                          core::TimePoint now) const {
  return barriers_.Get(name, now);
}

core::Result<boost::json::object> Coordinator::CreateProposal(
    std::string_view id, std::string_view kind, std::string_view subject,
    boost::json::value payload, core::TimePoint deadline, core::TimePoint now, Effects& effects) {
  auto parsed = ParseProposalKind(kind);
  if (!parsed) {
    return core::Err(parsed.error());
  }
  return proposals_.Create(id, *parsed, subject, std::move(payload), deadline, now, effects);
}

core::Result<boost::json::object> Coordinator::Vote(std::string_view id, std::string_view voter,
                                                    bool approve, core::TimePoint now,
                                                    Effects& effects) {
  return proposals_.Vote(id, voter, approve, now, effects);
}

core::Result<boost::json::object> Coordinator::GetProposal(std::string_view id,
                                                           core::TimePoint now) const {
  return proposals_.Get(id, now);
}

bool Coordinator::CancelWait(std::uint64_t waiter, core::TimePoint now, Effects& effects) {
  return locks_.CancelWait(waiter, now, effects) || elections_.CancelWait(waiter, effects) ||
         barriers_.CancelWait(waiter, effects);
}

void Coordinator::Tick(core::TimePoint now, Effects& effects) {
  for (const std::string& id : sessions_.Expire(now, effects)) {
    EndSession(id, now, effects);
  }
  locks_.Expire(now, effects);
  barriers_.Expire(now, effects);
  proposals_.Expire(now, effects);
}

std::optional<core::TimePoint> Coordinator::NextDeadline() const {
  std::optional<core::TimePoint> next;
  for (const auto& d : {sessions_.NextDeadline(), locks_.NextDeadline(), barriers_.NextDeadline(),
                        proposals_.NextDeadline()}) {
    if (d && (!next || *d < *next)) {
      next = d;
    }
  }
  return next;
}

std::optional<std::string> Coordinator::Snapshot(const Dirty& object) const {
  const std::string_view name = object.name;
  switch (object.kind) {
    case ObjectKind::kSession:
      return sessions_.Has(name) ? std::optional(boost::json::serialize(sessions_.Snapshot(name)))
                                 : std::nullopt;
    case ObjectKind::kLock:
      return locks_.Has(name) ? std::optional(boost::json::serialize(locks_.Snapshot(name)))
                              : std::nullopt;
    case ObjectKind::kElection:
      return elections_.Contains(name)
                 ? std::optional(boost::json::serialize(elections_.Snapshot(name)))
                 : std::nullopt;
    case ObjectKind::kBarrier:
      return barriers_.Contains(name)
                 ? std::optional(boost::json::serialize(barriers_.Snapshot(name)))
                 : std::nullopt;
    case ObjectKind::kProposal:
      return proposals_.Contains(name)
                 ? std::optional(boost::json::serialize(proposals_.Snapshot(name)))
                 : std::nullopt;
    case ObjectKind::kCounters:
      return boost::json::serialize(boost::json::object{{"token_ceiling", sequencer_.ceiling()}});
  }
  return std::nullopt;
}

core::Status Coordinator::Restore(ObjectKind kind, std::string_view name, std::string_view json,
                                  core::TimePoint now) {
  auto state = ParseObject(json);
  if (!state) {
    return state.error();
  }
  switch (kind) {
    case ObjectKind::kSession:
      return sessions_.Restore(name, *state, now);
    case ObjectKind::kLock:
      return locks_.Restore(name, *state, now);
    case ObjectKind::kElection:
      return elections_.Restore(name, *state, now);
    case ObjectKind::kBarrier:
      return barriers_.Restore(name, *state, now);
    case ObjectKind::kProposal:
      return proposals_.Restore(name, *state, now);
    case ObjectKind::kCounters: {
      const auto* ceiling = state->if_contains("token_ceiling");
      if (name != kTokensObject || ceiling == nullptr ||
          !(ceiling->is_uint64() || ceiling->is_int64())) {
        return core::Status(core::StatusCode::kDataLoss, "invalid_snapshot",
                            "the token counter is malformed");
      }
      sequencer_.Restore(ceiling->to_number<std::uint64_t>());
      return core::OkStatus();
    }
  }
  return core::OkStatus();
}

void Coordinator::NoteSequencer(Effects& effects) {
  if (sequencer_.NeedsCeiling()) {
    effects.MarkDirty(ObjectKind::kCounters, std::string(kTokensObject));
  }
}

void Coordinator::CeilingPersisted(std::uint64_t ceiling) {
  if (ceiling == sequencer_.ceiling()) {
    sequencer_.MarkCeilingPersisted();
  }
}

}  // namespace agentmesh::coord
