// CoordClient: options, the election backoff, and the one-shot calls (leader, barriers,
// proposals). The handles live in coord_client_locks.cc and coord_client_election.cc.
#include "agentmesh/client/coord_client.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "agentmesh/core/check.h"
#include "agentmesh/core/duration.h"
#include "agentmesh/core/ids.h"

#include "client/coord_client_internal.h"

namespace agentmesh::client {
namespace {

namespace json = boost::json;

core::Status InvalidOption(std::string message) {
  return core::InvalidArgument("invalid_option", std::move(message));
}

long long Millis(core::Duration d) {
  return std::chrono::ceil<std::chrono::milliseconds>(d).count();
}

std::vector<std::string> GetStrings(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v != nullptr && v->is_array()) {
    for (const json::value& item : v->get_array()) {
      if (item.is_string()) {
        out.emplace_back(item.get_string());
      }
    }
  }
  return out;
}

BarrierView ParseBarrier(const json::object& o) {
  BarrierView view;
  view.name = internal::GetString(o, "name");
  view.participants = GetStrings(o, "participants");
  view.arrived = GetStrings(o, "arrived");
  view.missing = GetStrings(o, "missing");
  const json::value* complete = o.if_contains("complete");
  view.complete = complete != nullptr && complete->is_bool() && complete->get_bool();
  return view;
}

ProposalView ParseProposal(const json::object& o) {
  ProposalView view;
  view.id = internal::GetString(o, "id");
  view.kind = internal::GetString(o, "kind");
  view.subject = internal::GetString(o, "subject");
  view.outcome = internal::GetString(o, "outcome");
  view.approvals = GetStrings(o, "approvals");
  view.rejections = GetStrings(o, "rejections");
  if (const json::value* required = o.if_contains("required");
      required != nullptr && required->is_object()) {
    view.required_approvals =
        static_cast<int>(internal::GetUint(required->get_object(), "approvals"));
  }
  return view;
}

}  // namespace

core::Status Validate(const CoordClientOptions& options) {
  if (auto base = ParseBaseUrl(options.node_url); !base) {
    return base.error();
  }
  if (!options.agent.empty()) {
    if (core::Status s = core::ValidateId(options.agent, "agent"); !s.ok()) {
      return s;
    }
  }
  if (options.request_timeout <= core::Duration::zero()) {
    return InvalidOption("request_timeout must be positive");
  }
  return core::OkStatus();
}

core::Duration ElectionBackoff::Step(int failures) const {
  double step = std::chrono::duration<double, std::nano>(initial).count();
  const double cap = std::chrono::duration<double, std::nano>(max).count();
  for (int i = 1; i < failures && step < cap; ++i) {
    step *= multiplier;
  }
  return core::Duration(static_cast<core::Duration::rep>(std::llround(std::min(step, cap))));
}

core::Duration ElectionBackoff::Next(int failures, core::Random& random) const {
  const core::Duration step = Step(failures);
  const double extra = static_cast<double>(step.count()) * jitter * random.NextDouble();
  return step + core::Duration(static_cast<core::Duration::rep>(extra));
}

core::Status Validate(const ElectionBackoff& backoff) {
  if (backoff.initial <= core::Duration::zero() || backoff.max < backoff.initial) {
    return InvalidOption("backoff.initial must be positive and at most backoff.max");
  }
  if (!(backoff.multiplier >= 1.0) || !(backoff.jitter >= 0.0 && backoff.jitter <= 1.0)) {
    return InvalidOption("backoff.multiplier must be >= 1 and backoff.jitter in [0, 1]");
  }
  return core::OkStatus();
}

core::Status Validate(const SessionOptions& options) {
  if (options.ttl <= core::Duration::zero() || options.renew_interval <= core::Duration::zero() ||
      options.renew_interval >= options.ttl) {
    return InvalidOption("session renew_interval must be positive and below ttl");
  }
  if (options.renew_retry <= core::Duration::zero()) {
    return InvalidOption("session renew_retry must be positive");
  }
  return core::OkStatus();
}

core::Status Validate(const ElectionOptions& options) {
  if (core::Status s = Validate(options.backoff); !s.ok()) {
    return s;
  }
  if (options.campaign_wait < std::chrono::milliseconds(1) ||
      options.check_interval <= core::Duration::zero()) {
    return InvalidOption("campaign_wait and check_interval must be positive");
  }
  return core::OkStatus();
}

CoordClient::CoordClient(CoordClientOptions options)
    : core_(std::make_shared<internal::CoordCore>(std::move(options))) {}

CoordClient::~CoordClient() {
  AM_CHECK_MSG(core_->handles.load() == 0,
               "CoordClient destroyed while sessions, locks or elections made from it live");
  core_->Shutdown();
}

const CoordClientOptions& CoordClient::options() const { return core_->options(); }

core::Result<Session> CoordClient::CreateSession(SessionOptions options) {
  if (core::Status s = Validate(options); !s.ok()) {
    return core::Err(std::move(s));
  }
  if (core_->options().agent.empty()) {
    return core::Err(core::InvalidArgument("invalid_agent", "CoordClientOptions.agent is empty"));
  }
  json::object body{{"agent", core_->options().agent}, {"ttl", core::FormatDuration(options.ttl)}};
  auto r = core_->Call(HttpRequest("POST", "/v1/sessions", json::serialize(body)));
  if (!r) {
    return core::Err(r.error());
  }
  core::Duration ttl = options.ttl;
  if (auto parsed = core::ParseDuration(internal::GetString(*r, "ttl")); parsed) {
    ttl = *parsed;
  }
  auto state = std::make_shared<internal::SessionState>(core_, std::move(options),
                                                        internal::GetString(*r, "id"), ttl);
  state->Start();
  return Session(std::move(state));
}

core::Result<LeaderInfo> CoordClient::Leader(std::string_view name) {
  if (core::Status s = internal::CheckName(name); !s.ok()) {
    return core::Err(std::move(s));
  }
  return internal::ToLeader(
      core_->Call(HttpRequest("GET", "/v1/elections/" + internal::EncodePath(name))), name);
}

core::Result<BarrierView> CoordClient::CreateBarrier(std::string_view name,
                                                     const std::vector<std::string>& participants,
                                                     core::Duration ttl) {
  if (core::Status s = internal::CheckName(name); !s.ok()) {
    return core::Err(std::move(s));
  }
  json::object body{{"participants", json::array(participants.begin(), participants.end())}};
  if (ttl > core::Duration::zero()) {
    body["ttl"] = core::FormatDuration(ttl);
  }
  auto r = core_->Call(
      HttpRequest("POST", "/v1/barriers/" + internal::EncodePath(name), json::serialize(body)));
  return r ? core::Result<BarrierView>(ParseBarrier(*r)) : core::Err(r.error());
}

core::Result<BarrierView> CoordClient::ArriveAndWait(std::string_view barrier,
                                                     std::string_view participant,
                                                     core::Duration wait) {
  if (core::Status s = internal::CheckName(barrier); !s.ok()) {
    return core::Err(std::move(s));
  }
  json::object body{{"participant", participant}, {"wait_ms", Millis(wait)}};
  auto r =
      core_->Call(HttpRequest("POST", "/v1/barriers/" + internal::EncodePath(barrier) + "/arrive",
                              json::serialize(body)),
                  wait);
  return r ? core::Result<BarrierView>(ParseBarrier(*r)) : core::Err(r.error());
}

core::Result<BarrierView> CoordClient::GetBarrier(std::string_view name) {
  if (core::Status s = internal::CheckName(name); !s.ok()) {
    return core::Err(std::move(s));
  }
  auto r = core_->Call(HttpRequest("GET", "/v1/barriers/" + internal::EncodePath(name)));
  return r ? core::Result<BarrierView>(ParseBarrier(*r)) : core::Err(r.error());
}

core::Result<std::string> CoordClient::Propose(const ProposalRequest& request) {
  json::object body{{"kind", request.kind},
                    {"subject", request.subject},
                    {"deadline", core::FormatDuration(request.deadline)}};
  if (!request.payload_json.empty()) {
    boost::system::error_code ec;
    json::value payload = json::parse(request.payload_json, ec);
    if (ec) {
      return core::Err(core::InvalidArgument("invalid_payload", "payload_json is not JSON"));
    }
    body["payload"] = std::move(payload);
  }
  auto r = core_->Call(HttpRequest("POST", "/v1/proposals", json::serialize(body)));
  return r ? core::Result<std::string>(internal::GetString(*r, "id")) : core::Err(r.error());
}

core::Result<ProposalView> CoordClient::Vote(std::string_view id, bool approve) {
  const std::string& voter = core_->options().agent;
  if (voter.empty()) {
    return core::Err(core::InvalidArgument("invalid_agent", "CoordClientOptions.agent is empty"));
  }
  json::object body{{"voter", voter}, {"approve", approve}};
  HttpRequest req("POST", "/v1/proposals/" + internal::EncodePath(id) + "/votes",
                  json::serialize(body));
  req.headers.emplace_back("X-Agent-ID", voter);
  auto r = core_->Call(std::move(req));
  return r ? core::Result<ProposalView>(ParseProposal(*r)) : core::Err(r.error());
}

core::Result<ProposalView> CoordClient::GetProposal(std::string_view id) {
  auto r = core_->Call(HttpRequest("GET", "/v1/proposals/" + internal::EncodePath(id)));
  return r ? core::Result<ProposalView>(ParseProposal(*r)) : core::Err(r.error());
}

}  // namespace agentmesh::client
