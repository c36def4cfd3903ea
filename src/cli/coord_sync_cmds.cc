// `agentmesh locks`, `agentmesh barriers` and `agentmesh proposals`: locks, barriers and
// quorum proposals of the coordination API from the command line.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "agentmesh/core/duration.h"

#include "cli/commands.h"
#include "cli/coord_call.h"

namespace agentmesh::cli {
namespace {

namespace json = boost::json;

struct LocksFlags {
  NodeFlags node;
  std::vector<std::string> names;
  std::string name;
  std::string session;
  bool shared = false;
  std::string wait = "5s";
};

struct BarriersFlags {
  NodeFlags node;
  std::string name;
  std::vector<std::string> participants;
  std::string ttl;
  std::string participant;
  std::string wait = "30s";
};

struct ProposalsFlags {
  NodeFlags node;
  std::string id;
  std::string kind;
  std::string subject;
  std::string payload;
  std::string deadline;
  std::string voter;
  bool approve = false;
  bool reject = false;
};

long long WaitMs(core::Duration wait) {
  return std::chrono::ceil<std::chrono::milliseconds>(wait).count();
}

// A grant of one lock, or of a lock set with a token per name.
void PrintGrant(const json::object& g) {
  std::vector<std::pair<std::string, std::string>> fields;
  if (const json::object& tokens = Child(g, "tokens"); !tokens.empty()) {
    for (const auto& [name, token] : tokens) {
      fields.emplace_back("lock " + std::string(name), "token " + json::serialize(token));
    }
  } else {
    fields = {{"lock", Text(g, "name")}, {"token", Text(g, "token")}};
  }
  fields.insert(fields.end(), {{"mode", Text(g, "mode")},
                               {"session", Text(g, "session")},
                               {"expires in", Seconds(g, "expires_in_ms")}});
  PrintFields(fields);
}

void PrintLock(const json::object& l) {
  const json::value* holders = l.if_contains("holders");
  std::vector<std::vector<std::string>> rows = {
      {"SESSION", "AGENT", "MODE", "TOKEN", "EXPIRES IN", "RENEWALS"}};
  if (holders != nullptr && holders->is_array()) {
    for (const json::value& h : holders->as_array()) {
      if (h.is_object()) {
        const json::object& o = h.as_object();
        rows.push_back({Text(o, "session"), Text(o, "agent"), Text(o, "mode"), Text(o, "token"),
                        Seconds(o, "expires_in_ms"), Text(o, "renewals")});
      }
    }
  }
  std::cout << "lock " << Text(l, "name") << ": "
            << (rows.size() == 1 ? "free" : std::to_string(rows.size() - 1) + " holder(s)") << ", "
            << Text(l, "waiters") << " waiter(s)" << std::endl;
  if (rows.size() > 1) {
    PrintTable(rows);
  }
}

void PrintBarrier(const json::object& b) {
  const json::value* complete = b.if_contains("complete");
  PrintFields({{"barrier", Text(b, "name")},
               {"complete", complete && complete->is_bool() && complete->as_bool() ? "yes" : "no"},
               {"participants", Joined(b, "participants")},
               {"arrived", Joined(b, "arrived")},
               {"missing", Joined(b, "missing")},
               {"ttl", Text(b, "ttl")},
               {"expires in", Seconds(b, "expires_in_ms")}});
}

void PrintProposal(const json::object& p) {
  const json::object& required = Child(p, "required");
  std::string needs = Text(required, "approvals") + " approvals of " + Text(required, "voters") +
                      " eligible voters";
  if (required.contains("approver")) {
    needs += ", including " + Text(required, "approver");
  }
  PrintFields({{"proposal", Text(p, "id")},
               {"kind", Text(p, "kind")},
               {"subject", Text(p, "subject")},
               {"payload", Text(p, "payload")},
               {"outcome", Text(p, "outcome")},
               {"approvals", Joined(p, "approvals")},
               {"rejections", Joined(p, "rejections")},
               {"required", needs},
               {"deadline in", Seconds(p, "deadline_in_ms")}});
}

void AddLockCommands(CLI::App& group) {
  auto f = std::make_shared<LocksFlags>();
  CLI::App* acquire = group.add_subcommand(
      "acquire", "Acquire a lock; several names are taken as one set, all or nothing");
  AddNodeFlags(*acquire, f->node);
  acquire->add_option("names", f->names, "Lock name(s)");
  acquire->add_option("--session", f->session, "Session that will hold the lock (required)");
  acquire->add_flag("--shared", f->shared, "Take a shared (reader) lock instead of exclusive");
  acquire->add_option("--wait", f->wait, "How long to wait for the lock")->capture_default_str();
  acquire->callback([acquire, f] {
    CheckUsage(*acquire);
    if (f->names.empty()) {
      ThrowUsage(*acquire, "the lock NAME is required");
    }
    Require(*acquire, f->session, "--session");
    const core::Duration wait = DurationFlag(*acquire, "--wait", f->wait, true);
    ApiCall call{.method = "POST", .has_body = true, .wait = wait};
    call.body = {{"session", f->session},
                 {"mode", f->shared ? "shared" : "exclusive"},
                 {"wait_ms", WaitMs(wait)}};
    if (f->names.size() == 1) {
      call.target = "/v1/locks/" + PathSegment(f->names.front()) + "/acquire";
    } else {
      call.target = "/v1/lock-sets/acquire";
      call.body["names"] = json::array(f->names.begin(), f->names.end());
    }
    RunCall(*acquire, f->node, call, PrintGrant);
  });

  CLI::App* release = group.add_subcommand("release", "Release a lock the session holds");
  AddNodeFlags(*release, f->node);
  release->add_option("name", f->name, "Lock name");
  release->add_option("--session", f->session, "Session holding the lock (required)");
  release->callback([release, f] {
    CheckUsage(*release);
    Require(*release, f->name, "the lock NAME");
    Require(*release, f->session, "--session");
    ApiCall call{.method = "POST",
                 .target = "/v1/locks/" + PathSegment(f->name) + "/release",
                 .has_body = true};
    call.body["session"] = f->session;
    RunCall(*release, f->node, call, [](const json::object& r) {
      std::cout << "released lock " << Text(r, "name") << std::endl;
    });
  });

  CLI::App* get = group.add_subcommand("get", "Show a lock's holders and waiters");
  AddNodeFlags(*get, f->node);
  get->add_option("name", f->name, "Lock name");
  get->callback([get, f] {
    CheckUsage(*get);
    Require(*get, f->name, "the lock NAME");
    RunCall(*get, f->node, {.target = "/v1/locks/" + PathSegment(f->name)}, PrintLock);
  });
}

void AddBarrierCommands(CLI::App& group) {
  auto f = std::make_shared<BarriersFlags>();
  CLI::App* create = group.add_subcommand("create", "Create a barrier for a set of participants");
  AddNodeFlags(*create, f->node);
  create->add_option("name", f->name, "Barrier name");
  create->add_option("--participants", f->participants, "Comma-separated participants (required)")
      ->delimiter(',');
  create->add_option("--ttl", f->ttl, "Time to live (default: the node's consensus.barrier_ttl)");
  create->callback([create, f] {
    CheckUsage(*create);
    Require(*create, f->name, "the barrier NAME");
    if (f->participants.empty()) {
      ThrowUsage(*create, "--participants is required");
    }
    ApiCall call{
        .method = "POST", .target = "/v1/barriers/" + PathSegment(f->name), .has_body = true};
    call.body["participants"] = json::array(f->participants.begin(), f->participants.end());
    if (!f->ttl.empty()) {
      call.body["ttl"] = core::FormatDuration(DurationFlag(*create, "--ttl", f->ttl, false));
    }
    RunCall(*create, f->node, call, PrintBarrier);
  });

  CLI::App* arrive = group.add_subcommand("arrive", "Arrive at a barrier and wait for the others");
  AddNodeFlags(*arrive, f->node);
  arrive->add_option("name", f->name, "Barrier name");
  arrive->add_option("--participant", f->participant, "Who arrives (required)");
  arrive->add_option("--wait", f->wait, "How long to wait for the others")->capture_default_str();
  arrive->callback([arrive, f] {
    CheckUsage(*arrive);
    Require(*arrive, f->name, "the barrier NAME");
    Require(*arrive, f->participant, "--participant");
    const core::Duration wait = DurationFlag(*arrive, "--wait", f->wait, true);
    ApiCall call{.method = "POST",
                 .target = "/v1/barriers/" + PathSegment(f->name) + "/arrive",
                 .has_body = true,
                 .wait = wait};
    call.body = {{"participant", f->participant}, {"wait_ms", WaitMs(wait)}};
    RunCall(*arrive, f->node, call, PrintBarrier);
  });

  CLI::App* get = group.add_subcommand("get", "Show who has arrived and who is missing");
  AddNodeFlags(*get, f->node);
  get->add_option("name", f->name, "Barrier name");
  get->callback([get, f] {
    CheckUsage(*get);
    Require(*get, f->name, "the barrier NAME");
    RunCall(*get, f->node, {.target = "/v1/barriers/" + PathSegment(f->name)}, PrintBarrier);
  });
}

void AddProposalCommands(CLI::App& group) {
  auto f = std::make_shared<ProposalsFlags>();
  CLI::App* create = group.add_subcommand("create", "Put a decision to a quorum vote");
  AddNodeFlags(*create, f->node);
  create->add_option("--kind", f->kind, "critical, system_wide or security (required)");
  create->add_option("--subject", f->subject, "What is decided (required)");
  create->add_option("--payload", f->payload, "Details as a JSON value");
  create->add_option("--deadline", f->deadline, "How long voting stays open, e.g. 10m (required)");
  create->callback([create, f] {
    CheckUsage(*create);
    Require(*create, f->kind, "--kind");
    Require(*create, f->subject, "--subject");
    Require(*create, f->deadline, "--deadline");
    const core::Duration deadline = DurationFlag(*create, "--deadline", f->deadline, false);
    ApiCall call{.method = "POST", .target = "/v1/proposals", .has_body = true};
    call.body = {
        {"kind", f->kind}, {"subject", f->subject}, {"deadline", core::FormatDuration(deadline)}};
    if (!f->payload.empty()) {
      boost::system::error_code ec;
      call.body["payload"] = json::parse(f->payload, ec);
      if (ec) {
        ThrowUsage(*create, "--payload must be JSON: " + ec.message());
      }
    }
    RunCall(*create, f->node, call, PrintProposal);
  });

  CLI::App* vote = group.add_subcommand("vote", "Vote on a proposal as an eligible agent");
  AddNodeFlags(*vote, f->node);
  vote->add_option("id", f->id, "Proposal id");
  vote->add_option("--voter", f->voter, "The voting agent, sent as X-Agent-ID (required)");
  vote->add_flag("--approve", f->approve, "Vote for the proposal");
  vote->add_flag("--reject", f->reject, "Vote against the proposal");
  vote->callback([vote, f] {
    CheckUsage(*vote);
    Require(*vote, f->id, "the proposal ID");
    Require(*vote, f->voter, "--voter");
    if (f->approve == f->reject) {
      ThrowUsage(*vote, "give exactly one of --approve and --reject");
    }
    ApiCall call{.method = "POST",
                 .target = "/v1/proposals/" + PathSegment(f->id) + "/votes",
                 .has_body = true,
                 .headers = {{"X-Agent-ID", f->voter}}};
    call.body = {{"voter", f->voter}, {"approve", f->approve}};
    RunCall(*vote, f->node, call, PrintProposal);
  });

  CLI::App* get = group.add_subcommand("get", "Show a proposal, its votes and outcome");
  AddNodeFlags(*get, f->node);
  get->add_option("id", f->id, "Proposal id");
  get->callback([get, f] {
    CheckUsage(*get);
    Require(*get, f->id, "the proposal ID");
    RunCall(*get, f->node, {.target = "/v1/proposals/" + PathSegment(f->id)}, PrintProposal);
  });
}

}  // namespace

void AddLocksCommand(CLI::App& app) {
  AddLockCommands(*AddCommandGroup(app, "locks", "Acquire, release and show locks"));
}

void AddBarriersCommand(CLI::App& app) {
  AddBarrierCommands(*AddCommandGroup(app, "barriers", "Create, arrive at and show barriers"));
}

void AddProposalsCommand(CLI::App& app) {
  AddProposalCommands(
      *AddCommandGroup(app, "proposals", "Create, vote on and show quorum proposals"));
}

}  // namespace agentmesh::cli
