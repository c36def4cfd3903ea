// `agentmesh agents`: the fleet as a node sees it, as an aligned table or raw JSON.
#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>

#include "agentmesh/client/api_status.h"
#include "agentmesh/client/http_client.h"
#include "agentmesh/core/duration.h"
#include "agentmesh/health/types.h"

#include "cli/commands.h"

namespace agentmesh::cli {
namespace {

namespace json = boost::json;

constexpr int kExitFailure = 1;

struct AgentsFlags {
  std::string addr = "http://127.0.0.1:7700";
  bool json = false;
  std::string phase;
  std::string status;
  std::string domain;
  std::string timeout = "5s";
};

std::optional<double> Number(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_double()) {
    return v->as_double();
  }
  if (v->is_int64()) {
    return static_cast<double>(v->as_int64());
  }
  if (v->is_uint64()) {
    return static_cast<double>(v->as_uint64());
  }
  return std::nullopt;
}

std::string Text(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return "-";
  }
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

std::string Percent(std::optional<double> v) { return v ? fmt::format("{:.0f}%", *v * 100) : "-"; }

// One table row per instance view, in the column order of kHeader.
std::vector<std::string> Row(const json::object& view) {
  const json::object* load = nullptr;
  if (const json::value* l = view.if_contains("load"); l && l->is_object()) {
    load = &l->as_object();
  }
  const auto phi = Number(view, "phi");
  const auto queue = load ? Number(*load, "queue_depth") : std::nullopt;
  return {Text(view, "id"),
          Text(view, "agent"),
          Text(view, "phase"),
          Text(view, "domain"),
          Text(view, "status"),
          phi ? fmt::format("{:.2f}", *phi) : "-",
          Percent(load ? Number(*load, "cpu") : std::nullopt),
          Percent(load ? Number(*load, "memory") : std::nullopt),
          queue ? fmt::format("{:.0f}", *queue) : "-",
          Text(view, "address")};
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += i + 1 < row.size() ? fmt::format("{:<{}}  ", row[i], widths[i]) : row[i];
    }
    std::cout << line << "\n";
  }
}

std::string CountLine(const json::array& agents) {
  std::map<std::string, int> by_state;
  for (const auto& a : agents) {
    if (a.is_object()) {
      ++by_state[Text(a.as_object(), "status")];
    }
  }
  std::string line = fmt::format("{} instance{}", agents.size(), agents.size() == 1 ? "" : "s");
  std::string sep = ": ";
  for (const auto state : health::kAllHealthStates) {
    const std::string name(health::HealthStateName(state));
    if (auto it = by_state.find(name); it != by_state.end()) {
      line += fmt::format("{}{} {}", sep, it->second, name);
      sep = ", ";
    }
  }
  return line;
}

int Fail(const std::string& message) {
  std::cerr << "agentmesh agents: " << message << std::endl;
  return kExitFailure;
}

int RunAgents(const AgentsFlags& flags) {
  auto timeout = core::ParseDuration(flags.timeout);
  if (!timeout || *timeout <= core::Duration::zero()) {
    return Fail("--timeout takes a positive duration like 5s");
  }
  boost::urls::url target("/v1/agents");
  for (const auto& [key, value] :
       {std::pair{"phase", &flags.phase}, {"status", &flags.status}, {"domain", &flags.domain}}) {
    if (!value->empty()) {
      target.params().append({key, *value});
    }
  }
  client::HttpRequest req("GET", std::string(target.buffer()));
  auto response = client::FetchBlocking(flags.addr, req, *timeout);
  if (!response) {
    return Fail("cannot reach the node at " + flags.addr + ": " + response.error().message());
  }
  if (core::Status status = client::StatusFromResponse(*response); !status.ok()) {
    return Fail("the node refused the query: " + status.message() + " (" + status.reason() + ")");
  }
  if (flags.json) {
    std::cout << response->body << std::endl;
    return 0;
  }
  boost::system::error_code ec;
  json::value body = json::parse(response->body, ec);
  const json::value* agents =
      !ec && body.is_object() ? body.as_object().if_contains("agents") : nullptr;
  if (agents == nullptr || !agents->is_array()) {
    return Fail("the node at " + flags.addr + " did not answer with an agent list");
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "AGENT", "PHASE", "DOMAIN", "STATUS", "PHI", "CPU", "MEM", "QUEUE", "ADDRESS"}};
  for (const auto& view : agents->as_array()) {
    if (view.is_object()) {
      rows.push_back(Row(view.as_object()));
    }
  }
  if (rows.size() > 1) {
    PrintTable(rows);
  }
  std::cout << CountLine(agents->as_array()) << std::endl;
  return 0;
}

}  // namespace

void AddAgentsCommand(CLI::App& app) {
  auto flags = std::make_shared<AgentsFlags>();
  CLI::App* cmd = app.add_subcommand("agents", "List the agent instances a node knows");
  cmd->add_option("--addr", flags->addr, "Base URL of the node")->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print the raw JSON answer");
  cmd->add_option("--phase", flags->phase, "Only this phase (1, 2 or 3)");
  cmd->add_option("--status", flags->status,
                  "Only this state (healthy, suspect, unhealthy, recovering, left)");
  cmd->add_option("--domain", flags->domain, "Only this domain");
  cmd->add_option("--timeout", flags->timeout, "Request deadline")->capture_default_str();
  cmd->callback([flags] {
    if (const int code = RunAgents(*flags); code != 0) {
      throw CLI::RuntimeError(code);
    }
  });
}

}  // namespace agentmesh::cli
