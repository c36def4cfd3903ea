// Quorum proposals (see proposals.h).
#include "agentmesh/coord/proposals.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include <boost/json/array.hpp>

#include "agentmesh/core/check.h"
#include "agentmesh/core/ids.h"

namespace agentmesh::coord {
namespace {

using std::chrono::milliseconds;

// Absorbs the rounding of fractions such as 2/3 so that ceil(2/3 * 69) is 46, not 47.
constexpr double kMajorityEpsilon = 1e-9;
constexpr int kMaxPhase = 3;

std::int64_t RemainingMs(core::TimePoint deadline, core::TimePoint now) {
  return std::chrono::ceil<milliseconds>(std::max(deadline - now, core::Duration::zero())).count();
}

core::Status UnknownProposal(std::string_view id) {
  return core::NotFound("unknown_proposal", "No proposal with id '" + std::string(id) + "'.");
}

core::Status InvalidSnapshot(std::string_view id, std::string_view why) {
  return {core::StatusCode::kDataLoss, "invalid_snapshot",
          "Stored proposal '" + std::string(id) + "' is unreadable: " + std::string(why)};
}

core::Result<ProposalOutcome> ParseOutcome(std::string_view text) {
  for (ProposalOutcome o : {ProposalOutcome::kPending, ProposalOutcome::kApproved,
                            ProposalOutcome::kRejected, ProposalOutcome::kExpired}) {
    if (ProposalOutcomeName(o) == text) {
      return o;
    }
  }
  return core::Err(
      core::InvalidArgument("invalid_argument", "Unknown outcome '" + std::string(text) + "'."));
}

boost::json::object BoolMap(const std::map<std::string, bool, std::less<>>& m) {
  boost::json::object out;
  for (const auto& [k, v] : m) {
    out[k] = v;
  }
  return out;
}

std::map<std::string, bool, std::less<>> ReadBoolMap(const boost::json::value& v) {
  std::map<std::string, bool, std::less<>> out;
  for (const auto& [k, b] : v.as_object()) {
    out.emplace(std::string(k), b.as_bool());
  }
  return out;
}

// The voters who voted `approve`, by name.
boost::json::array Voted(const std::map<std::string, bool, std::less<>>& votes, bool approve) {
  boost::json::array out;
  for (const auto& [voter, v] : votes) {
    if (v == approve) {
      out.emplace_back(voter);
    }
  }
  return out;
}

}  // namespace

core::Result<ProposalKind> ParseProposalKind(std::string_view text) {
  for (ProposalKind k :
       {ProposalKind::kCritical, ProposalKind::kSystemWide, ProposalKind::kSecurity}) {
    if (ProposalKindName(k) == text) {
      return k;
    }
  }
  return core::Err(core::InvalidArgument(
      "invalid_argument",
      "Unknown proposal kind '" + std::string(text) + "'; use critical, system_wide or security."));
}

std::string_view ProposalKindName(ProposalKind kind) {
  switch (kind) {
    case ProposalKind::kCritical:
      return "critical";
    case ProposalKind::kSystemWide:
      return "system_wide";
    case ProposalKind::kSecurity:
      return "security";
  }
  return "unknown";
}

std::string_view ProposalOutcomeName(ProposalOutcome outcome) {
  switch (outcome) {
    case ProposalOutcome::kPending:
      return "pending";
    case ProposalOutcome::kApproved:
      return "approved";
    case ProposalOutcome::kRejected:
      return "rejected";
    case ProposalOutcome::kExpired:
      return "expired";
  }
  return "unknown";
}

core::Status Validate(const ProposalOptions& options) {
  const auto bad = [](std::string_view field, std::string_view why) {
    return core::InvalidArgument("invalid_proposal_options",
                                 "Proposal option " + std::string(field) + " " + std::string(why));
  };
  if (options.min_phase1_agents < 1) {
    return bad("min_phase1_agents", "must be at least 1.");
  }
  if (!(options.system_change_majority > 0.0 && options.system_change_majority <= 1.0)) {
    return bad("system_change_majority", "must lie in (0, 1].");
  }
  if (options.security_approval_required &&
      !core::ValidateId(options.security_approver, "security_approver").ok()) {
    return bad("security_approver", "must be an agent name.");
  }
  std::set<std::string_view> seen;
  for (const Voter& v : options.voters) {
    if (!core::ValidateId(v.agent, "voter").ok() || v.phase < 1 || v.phase > kMaxPhase) {
      return bad("voters", "'" + v.agent + "' needs an agent name and a phase 1..3.");
    }
    if (!seen.insert(v.agent).second) {
      return bad("voters", "lists '" + v.agent + "' more than once.");
    }
  }
  if (options.max_deadline <= core::Duration::zero()) {
    return bad("max_deadline", "must be positive.");
  }
  if (options.max_subject_length == 0) {
    return bad("max_subject_length", "must be at least 1.");
  }
  return core::OkStatus();
}

ProposalTable::ProposalTable(ProposalOptions options) : options_(std::move(options)) {
  AM_CHECK(Validate(options_).ok());
}

core::Result<boost::json::object> ProposalTable::Create(std::string_view id, ProposalKind kind,
                                                        std::string_view subject,
                                                        boost::json::value payload,
                                                        core::TimePoint deadline,
                                                        core::TimePoint now, Effects& effects) {
  if (core::Status s = core::ValidateId(id, "proposal_id"); !s.ok()) {
    return core::Err(core::InvalidArgument("invalid_argument", s.message()));
  }
  if (subject.empty() || subject.size() > options_.max_subject_length) {
    return core::Err(core::InvalidArgument(
        "invalid_argument", "A proposal needs a subject of 1 to " +
                                std::to_string(options_.max_subject_length) + " characters."));
  }
  if (deadline <= now || deadline - now > options_.max_deadline) {
    return core::Err(core::InvalidArgument(
        "invalid_argument",
        "A proposal's deadline must lie in the future, at most " +
            std::to_string(std::chrono::ceil<std::chrono::hours>(options_.max_deadline).count()) +
            " hours away."));
  }
  if (proposals_.contains(id)) {
    return core::Err(core::Status(core::StatusCode::kAlreadyExists, "proposal_exists",
                                  "A proposal with id '" + std::string(id) + "' exists."));
  }
  Proposal p;
  p.kind = kind;
  p.subject = std::string(subject);
  p.payload = std::move(payload);
  p.deadline = deadline;
  p.changed_at = now;
  for (const Voter& v : options_.voters) {
    if (kind == ProposalKind::kSystemWide || v.phase == 1) {
      p.electorate.emplace(v.agent, true);
    }
  }
  if (kind == ProposalKind::kSystemWide) {
    const double needed =
        options_.system_change_majority * static_cast<double>(p.electorate.size());
    p.required = std::max(1, static_cast<int>(std::ceil(needed - kMajorityEpsilon)));
  } else {
    p.required = options_.min_phase1_agents;
  }
  if (kind == ProposalKind::kSecurity && options_.security_approval_required) {
    p.approver = options_.security_approver;
    p.electorate.try_emplace(p.approver, false);
  }
  auto it = proposals_.emplace(std::string(id), std::move(p)).first;
  deadlines_.emplace(deadline, it->first);
  effects.MarkDirty(ObjectKind::kProposal, it->first);
  core::Event event;
  event.type = "proposal.created";
  event.data = {
      {"id", it->first}, {"kind", ProposalKindName(kind)}, {"subject", it->second.subject}};
  effects.events.push_back(std::move(event));
  if (ProposalOutcome outcome = Decide(it->second); outcome != ProposalOutcome::kPending) {
    Close(it, outcome, effects);
  }
  return View(it, now);
}

core::Result<boost::json::object> ProposalTable::Vote(std::string_view id, std::string_view voter,
                                                      bool approve, core::TimePoint now,
                                                      Effects& effects) {
  auto it = proposals_.find(id);
  if (it == proposals_.end()) {
    return core::Err(UnknownProposal(id));
  }
  Proposal& p = it->second;
  if (p.outcome == ProposalOutcome::kPending && now >= p.deadline) {
    Close(it, ProposalOutcome::kExpired, effects);
  }
  if (p.outcome != ProposalOutcome::kPending) {
    return core::Err(core::FailedPrecondition(
        "proposal_closed", "Proposal '" + it->first + "' is closed: it was " +
                               std::string(ProposalOutcomeName(p.outcome)) + "."));
  }
  if (!p.electorate.contains(voter)) {
    return core::Err(core::Status(core::StatusCode::kPermissionDenied, "not_eligible",
                                  "'" + std::string(voter) + "' may not vote on " +
                                      std::string(ProposalKindName(p.kind)) + " proposal '" +
                                      it->first + "'."));
  }
  if (p.votes.contains(voter)) {
    return core::Err(core::FailedPrecondition(
        "already_voted",
        "'" + std::string(voter) + "' has already voted on proposal '" + it->first + "'."));
  }
  p.votes.emplace(std::string(voter), approve);
  p.changed_at = now;
  effects.MarkDirty(ObjectKind::kProposal, it->first);
  if (ProposalOutcome outcome = Decide(p); outcome != ProposalOutcome::kPending) {
    Close(it, outcome, effects);
  }
  return View(it, now);
}

core::Result<boost::json::object> ProposalTable::Get(std::string_view id,
                                                     core::TimePoint now) const {
  auto it = proposals_.find(id);
  if (it == proposals_.end()) {
    return core::Err(UnknownProposal(id));
  }
  return View(it, now);
}

std::optional<core::TimePoint> ProposalTable::NextDeadline() const {
  if (deadlines_.empty()) {
    return std::nullopt;
  }
  return deadlines_.begin()->first;
}

void ProposalTable::Expire(core::TimePoint now, Effects& effects) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    auto it = proposals_.find(deadlines_.begin()->second);
    AM_CHECK(it != proposals_.end());
    Close(it, ProposalOutcome::kExpired, effects);
  }
}

bool ProposalTable::Contains(std::string_view id) const { return proposals_.contains(id); }

boost::json::object ProposalTable::Snapshot(std::string_view id) const {
  auto it = proposals_.find(id);
  if (it == proposals_.end()) {
    return {};
  }
  const Proposal& p = it->second;
  return {{"kind", ProposalKindName(p.kind)},
          {"subject", p.subject},
          {"payload", p.payload},
          {"outcome", ProposalOutcomeName(p.outcome)},
          {"electorate", BoolMap(p.electorate)},
          {"required", p.required},
          {"approver", p.approver},
          {"votes", BoolMap(p.votes)},
          {"deadline_in_ms", RemainingMs(p.deadline, p.changed_at)}};
}

core::Status ProposalTable::Restore(std::string_view id, const boost::json::object& snapshot,
                                    core::TimePoint now) {
  if (core::Status s = core::ValidateId(id, "proposal_id"); !s.ok()) {
    return core::InvalidArgument("invalid_argument", s.message());
  }
  Proposal p;
  try {
    auto kind = ParseProposalKind(snapshot.at("kind").as_string());
    auto outcome = ParseOutcome(snapshot.at("outcome").as_string());
    if (!kind || !outcome) {
      return InvalidSnapshot(id, kind ? outcome.error().message() : kind.error().message());
    }
    p.kind = *kind;
    p.outcome = *outcome;
    p.subject = snapshot.at("subject").as_string();
    p.payload = snapshot.at("payload");
    p.electorate = ReadBoolMap(snapshot.at("electorate"));
    p.required = snapshot.at("required").to_number<int>();
    p.approver = snapshot.at("approver").as_string();
    p.votes = ReadBoolMap(snapshot.at("votes"));
    p.deadline = now + milliseconds(snapshot.at("deadline_in_ms").to_number<std::int64_t>());
  } catch (const std::exception& e) {
    return InvalidSnapshot(id, e.what());
  }
  const bool votes_eligible = std::all_of(p.votes.begin(), p.votes.end(), [&](const auto& v) {
    return p.electorate.contains(v.first);
  });
  if (p.required < 1 || !votes_eligible ||
      (!p.approver.empty() && !p.electorate.contains(p.approver))) {
    return InvalidSnapshot(id, "its votes, electorate and requirement do not fit together");
  }
  p.changed_at = now;
  if (auto old = proposals_.find(id); old != proposals_.end()) {
    deadlines_.erase({old->second.deadline, old->first});
    proposals_.erase(old);
  }
  auto it = proposals_.emplace(std::string(id), std::move(p)).first;
  if (it->second.outcome == ProposalOutcome::kPending) {
    deadlines_.emplace(it->second.deadline, it->first);
  }
  return core::OkStatus();
}

ProposalOutcome ProposalTable::Decide(const Proposal& p) {
  bool approver_approved = p.approver.empty();
  if (!p.approver.empty()) {
    if (auto v = p.votes.find(p.approver); v != p.votes.end()) {
      if (!v->second) {
        return ProposalOutcome::kRejected;
      }
      approver_approved = true;
    }
  }
  int approvals = 0;
  int open = 0;
  for (const auto& [voter, counts] : p.electorate) {
    if (!counts) {
      continue;
    }
    auto v = p.votes.find(voter);
    if (v == p.votes.end()) {
      ++open;
    } else if (v->second) {
      ++approvals;
    }
  }
  if (approvals >= p.required && approver_approved) {
    return ProposalOutcome::kApproved;
  }
  if (approvals + open < p.required) {
    return ProposalOutcome::kRejected;
  }
  return ProposalOutcome::kPending;
}

void ProposalTable::Close(Proposals::iterator it, ProposalOutcome outcome, Effects& effects) {
  Proposal& p = it->second;
  AM_CHECK(p.outcome == ProposalOutcome::kPending);
  deadlines_.erase({p.deadline, it->first});
  p.outcome = outcome;
  effects.MarkDirty(ObjectKind::kProposal, it->first);
  core::Event event;
  event.type = "proposal.decided";
  event.data = {{"id", it->first},
                {"kind", ProposalKindName(p.kind)},
                {"subject", p.subject},
                {"outcome", ProposalOutcomeName(outcome)},
                {"approvals", Voted(p.votes, true)},
                {"rejections", Voted(p.votes, false)}};
  effects.events.push_back(std::move(event));
}

boost::json::object ProposalTable::View(const Proposals::const_iterator& it, core::TimePoint now) {
  const Proposal& p = it->second;
  ProposalOutcome outcome = p.outcome;
  if (outcome == ProposalOutcome::kPending && now >= p.deadline) {
    outcome = ProposalOutcome::kExpired;
  }
  boost::json::object required{{"approvals", p.required},
                               {"voters", std::count_if(p.electorate.begin(), p.electorate.end(),
                                                        [](const auto& e) { return e.second; })}};
  if (!p.approver.empty()) {
    required["approver"] = p.approver;
  }
  return {{"id", it->first},
          {"kind", ProposalKindName(p.kind)},
          {"subject", p.subject},
          {"payload", p.payload},
          {"outcome", ProposalOutcomeName(outcome)},
          {"approvals", Voted(p.votes, true)},
          {"rejections", Voted(p.votes, false)},
          {"required", std::move(required)},
          {"deadline_in_ms", RemainingMs(p.deadline, now)}};
}

}  // namespace agentmesh::coord
