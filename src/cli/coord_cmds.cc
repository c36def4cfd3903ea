// `agentmesh sessions`, `agentmesh elections` and `agentmesh coordinators`: the session
// and leader-election half of the coordination API from the command line.
#include <charconv>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "agentmesh/core/duration.h"

#include "cli/commands.h"
#include "cli/coord_call.h"
#include "cli/election_watch.h"

namespace agentmesh::cli {
namespace {

namespace json = boost::json;

struct SessionsFlags {
  NodeFlags node;
  std::string id;
  std::string agent;
  std::string ttl;
};

struct ElectionsFlags {
  NodeFlags node;
  std::string name;
  std::string session;
  std::string value;
  std::string wait = "10s";
  std::string successor;
  std::string count = "0";
};

void PrintSession(const json::object& s) {
  std::vector<std::pair<std::string, std::string>> fields = {{"session", Text(s, "id")}};
  for (const auto& [label, key] : {std::pair{"agent", "agent"}, {"ttl", "ttl"}}) {
    if (s.contains(key)) {
      fields.emplace_back(label, Text(s, key));
    }
  }
  if (s.contains("expires_in_ms")) {
    fields.emplace_back("expires in", Seconds(s, "expires_in_ms"));
  }
  PrintFields(fields);
}

// The leader of an election as fields; "none" when nobody leads.
void PrintLeadership(const json::object& e) {
  const json::object& leader = Child(e, "leader");
  std::vector<std::pair<std::string, std::string>> fields = {{"election", Text(e, "name")}};
  if (leader.empty()) {
    fields.emplace_back("leader", "none");
  } else {
    fields.insert(fields.end(), {{"leader", Text(leader, "agent")},
                                 {"session", Text(leader, "session")},
                                 {"value", Text(leader, "value")},
                                 {"term", Text(e, "term")}});
  }
  if (e.contains("held_ms")) {
    fields.emplace_back("held for", Seconds(e, "held_ms"));
  }
  if (e.contains("candidates")) {
    fields.emplace_back("candidates", Text(e, "candidates"));
  }
  PrintFields(fields);
}

// One line per watch event: "NAME: leader AGENT term T (session S)" or "NAME: no leader".
void PrintWatchEvent(const std::string& data) {
  boost::system::error_code ec;
  const json::value v = json::parse(data, ec);
  if (ec || !v.is_object()) {
    std::cout << data << std::endl;
    return;
  }
  const json::object& e = v.as_object();
  const json::object& leader = Child(e, "leader");
  if (leader.empty()) {
    std::cout << Text(e, "name") << ": no leader" << std::endl;
    return;
  }
  std::cout << fmt::format("{}: leader {} term {} (session {}, value {})", Text(e, "name"),
                           Text(leader, "agent"), Text(e, "term"), Text(leader, "session"),
                           Text(leader, "value"))
            << std::endl;
}

void AddSessionCommands(CLI::App& group) {
  auto f = std::make_shared<SessionsFlags>();
  CLI::App* create = group.add_subcommand("create", "Create a session for an agent");
  AddNodeFlags(*create, f->node);
  create->add_option("--agent", f->agent, "The agent the session belongs to (required)");
  create->add_option("--ttl", f->ttl, "Time to live (default: the node's consensus.session_ttl)");
  create->callback([create, f] {
    CheckUsage(*create);
    Require(*create, f->agent, "--agent");
    ApiCall call{.method = "POST", .target = "/v1/sessions", .has_body = true};
    call.body["agent"] = f->agent;
    if (!f->ttl.empty()) {
      call.body["ttl"] = core::FormatDuration(DurationFlag(*create, "--ttl", f->ttl, false));
    }
    RunCall(*create, f->node, call, PrintSession);
  });

  struct ById {
    const char* name;
    const char* about;
    const char* method;
    const char* suffix;
  };
  for (const ById& c :
       {ById{"renew", "Renew a session for another TTL", "PUT", "/renew"},
        ById{"destroy", "Destroy a session, releasing its locks and leadership", "DELETE", ""},
        ById{"get", "Show a session", "GET", ""}}) {
    CLI::App* cmd = group.add_subcommand(c.name, c.about);
    AddNodeFlags(*cmd, f->node);
    cmd->add_option("id", f->id, "Session id");
    cmd->callback([cmd, f, c] {
      CheckUsage(*cmd);
      Require(*cmd, f->id, "the session ID");
      const ApiCall call{.method = c.method,
                         .target = "/v1/sessions/" + PathSegment(f->id) + c.suffix};
      RunCall(*cmd, f->node, call, [&c](const json::object& s) {
        if (std::string_view(c.name) == "destroy") {
          std::cout << "destroyed session " << Text(s, "id") << std::endl;
        } else {
          PrintSession(s);
        }
      });
    });
  }
}

void AddCampaignCommand(CLI::App& group, const std::shared_ptr<ElectionsFlags>& f) {
  CLI::App* cmd = group.add_subcommand("campaign", "Campaign for an election until elected");
  AddNodeFlags(*cmd, f->node);
  cmd->add_option("name", f->name, "Election name");
  cmd->add_option("--session", f->session, "Session that will hold the leadership (required)");
  cmd->add_option("--value", f->value, "Value published with the leadership");
  cmd->add_option("--wait", f->wait, "How long to wait for the leadership")->capture_default_str();
  cmd->callback([cmd, f] {
    CheckUsage(*cmd);
    Require(*cmd, f->name, "the election NAME");
    Require(*cmd, f->session, "--session");
    const core::Duration wait = DurationFlag(*cmd, "--wait", f->wait, true);
    ApiCall call{.method = "POST",
                 .target = "/v1/elections/" + PathSegment(f->name) + "/campaign",
                 .has_body = true,
                 .wait = wait};
    call.body = {{"session", f->session},
                 {"value", f->value},
                 {"wait_ms", std::chrono::ceil<std::chrono::milliseconds>(wait).count()}};
    RunCall(*cmd, f->node, call, PrintLeadership);
  });
}

void AddResignCommand(CLI::App& group, const std::shared_ptr<ElectionsFlags>& f) {
  CLI::App* cmd = group.add_subcommand("resign", "Give up the leadership of an election");
  AddNodeFlags(*cmd, f->node);
  cmd->add_option("name", f->name, "Election name");
  cmd->add_option("--session", f->session, "Session holding the leadership (required)");
  cmd->add_option("--successor", f->successor,
                  "Hand the leadership to this campaigning agent or session");
  cmd->callback([cmd, f] {
    CheckUsage(*cmd);
    Require(*cmd, f->name, "the election NAME");
    Require(*cmd, f->session, "--session");
    ApiCall call{.method = "POST",
                 .target = "/v1/elections/" + PathSegment(f->name) + "/resign",
                 .has_body = true};
    call.body["session"] = f->session;
    if (!f->successor.empty()) {
      call.body["successor"] = f->successor;
    }
    RunCall(*cmd, f->node, call, [](const json::object& e) {
      std::cout << "resigned from " << Text(e, "name") << std::endl;
      PrintLeadership(e);
    });
  });
}

void AddElectionReadCommands(CLI::App& group, const std::shared_ptr<ElectionsFlags>& f) {
  CLI::App* get = group.add_subcommand("get", "Show an election's leader and term");
  AddNodeFlags(*get, f->node);
  get->add_option("name", f->name, "Election name");
  get->callback([get, f] {
    CheckUsage(*get);
    Require(*get, f->name, "the election NAME");
    RunCall(*get, f->node, {.target = "/v1/elections/" + PathSegment(f->name)}, PrintLeadership);
  });

  CLI::App* watch = group.add_subcommand("watch", "Print the leader now and after every change");
  AddNodeFlags(*watch, f->node);
  watch->add_option("name", f->name, "Election name");
  watch->add_option("--count", f->count, "Stop after this many events (0: never)")
      ->capture_default_str();
  watch->callback([watch, f] {
    CheckUsage(*watch);
    Require(*watch, f->name, "the election NAME");
    int count = 0;
    const auto [end, ec] =
        std::from_chars(f->count.data(), f->count.data() + f->count.size(), count);
    if (ec != std::errc() || end != f->count.data() + f->count.size() || count < 0) {
      ThrowUsage(*watch, "--count takes a number of events, 0 for no limit");
    }
    const core::Duration timeout = DurationFlag(*watch, "--timeout", f->node.timeout, false);
    int seen = 0;
    core::Status s = WatchElection(f->node.node, PathSegment(f->name), timeout,
                                   [&f, &seen, count](const std::string& data) {
                                     if (f->node.json) {
                                       std::cout << data << std::endl;
                                     } else {
                                       PrintWatchEvent(data);
                                     }
                                     return count == 0 || ++seen < count;
                                   });
    if (!s.ok()) {
      std::cerr << "agentmesh elections watch: " << s.reason() << ": " << s.message() << std::endl;
      throw CLI::RuntimeError(kExitApiError);
    }
  });
}

// One table row per coordinator role: the global one first, then each domain.
void PrintCoordinators(const json::object& c) {
  std::vector<std::vector<std::string>> rows = {{"ROLE", "ELECTION", "HOLDER", "TERM", "ELIGIBLE"}};
  const auto row = [&rows](const std::string& role, const json::object& r) {
    const json::object& holder = Child(r, "holder");
    rows.push_back({role, Text(r, "election"), holder.empty() ? "-" : Text(holder, "agent"),
                    holder.empty() ? "-" : Text(holder, "term"), Joined(r, "eligible")});
  };
  row("global", Child(c, "global"));
  if (const json::value* domains = c.if_contains("domains"); domains && domains->is_array()) {
    for (const json::value& d : domains->as_array()) {
      if (d.is_object()) {
        row("domain " + Text(d.as_object(), "domain"), d.as_object());
      }
    }
  }
  PrintTable(rows);
}

}  // namespace

void AddSessionsCommand(CLI::App& app) {
  AddSessionCommands(*AddCommandGroup(app, "sessions", "Create, renew, destroy and show sessions"));
}

void AddElectionsCommand(CLI::App& app) {
  CLI::App* group =
      AddCommandGroup(app, "elections", "Campaign for, resign from, show and watch elections");
  auto f = std::make_shared<ElectionsFlags>();
  AddCampaignCommand(*group, f);
  AddResignCommand(*group, f);
  AddElectionReadCommands(*group, f);
}

void AddCoordinatorsCommand(CLI::App& app) {
  auto flags = std::make_shared<NodeFlags>();
  CLI::App* cmd = app.add_subcommand("coordinators", "Show who holds each coordinator role");
  AddNodeFlags(*cmd, *flags);
  cmd->callback([cmd, flags] {
    CheckUsage(*cmd);
    RunCall(*cmd, *flags, {.target = "/v1/coordinators"}, PrintCoordinators);
  });
}

}  // namespace agentmesh::cli
