// ProposalTable: quorum decisions (rules 1.2), the core behind /v1/proposals.
//
// A proposal has a kind that fixes who may vote and what it takes to pass:
//   critical     phase-1 agents vote; approved at min_phase1_agents (3) approvals;
//   system_wide  every voter of the electorate votes; approved at ceil(2/3 of the electorate);
//   security     phase-1 agents and the security approver vote; the critical rule AND the
//                approver's approval (the approver rejecting rejects it).
// The outcome is decided as soon as it is certain: approved, or rejected once the required
// approvals can no longer be reached; a proposal still pending at its deadline expires. The
// electorate is frozen when the proposal is created. Proposals and their outcomes are durable
// and stay queryable; every decision emits proposal.decided.
//
// Owned by the coord Coordinator. Sans-IO and not thread-safe: the server shell serialises every
// call.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "agentmesh/coord/types.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

namespace agentmesh::coord {

enum class ProposalKind { kCritical, kSystemWide, kSecurity };
// Returns the kind named "critical", "system_wide" or "security".
// Errors: kInvalidArgument invalid_argument.
core::Result<ProposalKind> ParseProposalKind(std::string_view text);
std::string_view ProposalKindName(ProposalKind kind);

enum class ProposalOutcome { kPending, kApproved, kRejected, kExpired };
// Returns "pending", "approved", "rejected" or "expired".
std::string_view ProposalOutcomeName(ProposalOutcome outcome);

// A member of the electorate, from the fleet configuration.
struct Voter {
  std::string agent;
  int phase = 1;
};

struct ProposalOptions {
  // Phase 1 agents that must approve a critical or security decision (1.2: minimum 3).
  int min_phase1_agents = 3;
  // Fraction of the electorate that must approve a system-wide change (1.2: 2/3 majority).
  double system_change_majority = 2.0 / 3.0;
  // Agent whose approval every security decision needs (1.2).
  std::string security_approver = "security-pentesting-specialist";
  // Whether security decisions require that approval (1.2: all security decisions).
  bool security_approval_required = true;
  // The electorate: every agent of the fleet with its phase (from the fleet configuration).
  std::vector<Voter> voters;
  // Latest deadline a proposal may have, counted from its creation (ours).
  core::Duration max_deadline = std::chrono::hours(24 * 7);
  // Longest subject accepted (ours).
  std::size_t max_subject_length = 200;
};

// Errors: kInvalidArgument "invalid_proposal_options" naming the offending field.
core::Status Validate(const ProposalOptions& options);

class ProposalTable {
 public:
  // Requires: Validate(options) is ok.
  explicit ProposalTable(ProposalOptions options);

  // Opens proposal `id` of `kind` about `subject` with an opaque `payload`, open for votes
  // until `deadline`. A proposal whose electorate cannot reach the required approvals is
  // rejected at once. Emits proposal.created. Result: the Get() view.
  // Errors: kInvalidArgument invalid_argument (id, subject or deadline); kAlreadyExists
  // proposal_exists.
  core::Result<boost::json::object> Create(std::string_view id, ProposalKind kind,
                                           std::string_view subject, boost::json::value payload,
                                           core::TimePoint deadline, core::TimePoint now,
                                           Effects& effects);

  // Records `voter`'s vote on `id` and decides the outcome when it is certain.
  // Result: the Get() view.
  // Errors: kNotFound unknown_proposal; kFailedPrecondition proposal_closed (decided or past
  // its deadline), already_voted; kPermissionDenied not_eligible.
  core::Result<boost::json::object> Vote(std::string_view id, std::string_view voter, bool approve,
                                         core::TimePoint now, Effects& effects);

  // Returns {"id","kind","subject","payload","outcome","approvals":[...],"rejections":[...],
  // "required":{"approvals","voters","approver"?},"deadline_in_ms"}; a pending proposal past
  // its deadline reads as "expired". "voters" counts the agents whose approvals count.
  // Errors: kNotFound unknown_proposal.
  core::Result<boost::json::object> Get(std::string_view id, core::TimePoint now) const;

  // Returns the earliest deadline of a pending proposal, if any.
  std::optional<core::TimePoint> NextDeadline() const;
  // Expires every pending proposal whose deadline is at or before `now`.
  void Expire(core::TimePoint now, Effects& effects);

  // Whether `id` exists.
  bool Contains(std::string_view id) const;
  // Returns the durable state of `id`, or an empty object when it does not exist. The
  // remaining time to the deadline is measured from the proposal's last durable change, which
  // is when the shell persists it.
  boost::json::object Snapshot(std::string_view id) const;
  // Recreates `id` from a Snapshot() taken before a restart; its remaining time restarts from
  // `now`.
  // Errors: kInvalidArgument invalid_argument; kDataLoss invalid_snapshot.
  core::Status Restore(std::string_view id, const boost::json::object& snapshot,
                       core::TimePoint now);

  std::size_t size() const { return proposals_.size(); }

 private:
  struct Proposal {
    ProposalKind kind = ProposalKind::kCritical;
    std::string subject;
    boost::json::value payload;
    core::TimePoint deadline;
    core::TimePoint changed_at;  // last durable change, the base of Snapshot's remaining time
    ProposalOutcome outcome = ProposalOutcome::kPending;
    // Eligible voters; true when the voter's approval counts toward `required`.
    std::map<std::string, bool, std::less<>> electorate;
    int required = 0;
    std::string approver;  // whose approval is needed as well; empty for none
    std::map<std::string, bool, std::less<>> votes;  // voter -> approve
  };
  using Proposals = std::map<std::string, Proposal, std::less<>>;

  // Returns the outcome `p`'s votes make certain (kPending when none is yet).
  static ProposalOutcome Decide(const Proposal& p);
  // Records `outcome` for `it`, marks it dirty and emits proposal.decided.
  void Close(Proposals::iterator it, ProposalOutcome outcome, Effects& effects);
  static boost::json::object View(const Proposals::const_iterator& it, core::TimePoint now);

  ProposalOptions options_;
  Proposals proposals_;
  std::set<std::pair<core::TimePoint, std::string>> deadlines_;  // pending proposals only
};

}  // namespace agentmesh::coord
