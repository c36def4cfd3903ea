#include "agentmesh/config/fleet.h"

#include <map>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "config/yaml_reader_internal.h"

namespace agentmesh::config {
namespace {

using internal::Between;
using internal::Diagnostics;
using internal::MapCursor;
using internal::Text;

constexpr std::string_view kInvalidFleet = "invalid_fleet";
constexpr int kMinPhase = 1;
constexpr int kMaxPhase = 3;
constexpr int kMaxReplicas = 100;
constexpr int kCoordinatorPhase = 1;

// An agent with the positions needed by the fleet-wide checks.
struct ParsedAgent {
  FleetAgent agent;
  std::string path;
  YAML::Mark name_mark;
  YAML::Mark role_mark;
};

// Takes a required key, reporting at the agent when it is missing.
std::optional<YAML::Node> Require(MapCursor& cursor, std::string_view key, Diagnostics& diag) {
  std::optional<YAML::Node> node = cursor.Take(key);
  if (!node) {
    diag.Report(cursor.mark(), cursor.path(), fmt::format("missing required key '{}'", key));
  }
  return node;
}

std::optional<ParsedAgent> ParseAgent(const YAML::Node& node, std::size_t index,
                                      Diagnostics& diag) {
  MapCursor cursor(node, fmt::format("agents[{}]", index), &diag);
  if (!cursor.valid()) {
    return std::nullopt;
  }
  ParsedAgent parsed;
  FleetAgent& a = parsed.agent;
  std::optional<YAML::Node> name = Require(cursor, "name", diag);
  bool ok = name && internal::ReadValue(*name, cursor.PathOf("name"), diag, a.name, Text::kId);
  if (ok) {
    parsed.name_mark = name->Mark();
    cursor.Rename(fmt::format("agents[{}]({})", index, a.name));
  }
  auto read = [&](std::string_view key, bool required, auto& field, auto constraint) {
    std::optional<YAML::Node> v = required ? Require(cursor, key, diag) : cursor.Take(key);
    if (!v) {
      ok = ok && !required;
      return;
    }
    ok = internal::ReadValue(*v, cursor.PathOf(key), diag, field, constraint) && ok;
  };
  read("phase", true, a.phase, Between(kMinPhase, kMaxPhase));
  read("domain", true, a.domain, Text::kId);
  read("capabilities", true, a.capabilities, Text::kId);
  read("replicas", false, a.replicas, Between(1, kMaxReplicas));
  if (std::optional<YAML::Node> v = cursor.Take("role")) {
    parsed.role_mark = v->Mark();
    const std::vector<std::string_view> roles = {kGlobalCoordinatorRole, kDomainCoordinatorRole,
                                                 kSecurityApproverRole};
    std::size_t role = 0;
    if (internal::ReadChoice(*v, cursor.PathOf("role"), diag, roles, role)) {
      a.role = roles[role];
    } else {
      ok = false;
    }
  }
  cursor.ReportUnknown();
  parsed.path = cursor.path();
  if (!ok) {
    return std::nullopt;
  }
  return parsed;
}

// Checks what no single agent shows: unique names and the rules' roles (1.1, 1.2).
void CheckFleet(const std::vector<ParsedAgent>& agents, Diagnostics& diag) {
  std::map<std::string, const ParsedAgent*> by_name;
  std::map<std::string, const ParsedAgent*> sole_role;
  std::map<std::string, const ParsedAgent*> domain_coordinator;
  for (const ParsedAgent& p : agents) {
    const FleetAgent& a = p.agent;
    if (auto [it, added] = by_name.emplace(a.name, &p); !added) {
      diag.Report(p.name_mark, p.path + ".name",
                  fmt::format("'{}' is already the name of {}", a.name, it->second->path));
    }
    bool coordinator = a.role == kGlobalCoordinatorRole || a.role == kDomainCoordinatorRole;
    if (coordinator && a.phase != kCoordinatorPhase) {
      diag.Report(
          p.role_mark, p.path + ".role",
          fmt::format("{} must be a phase 1 agent (rules 1.1), got phase {}", a.role, a.phase));
    }
    if (a.role == kGlobalCoordinatorRole || a.role == kSecurityApproverRole) {
      if (auto [it, added] = sole_role.emplace(a.role, &p); !added) {
        diag.Report(p.role_mark, p.path + ".role",
                    fmt::format("{} is already {}", a.role, it->second->path));
      }
    }
    if (a.role == kDomainCoordinatorRole) {
      if (auto [it, added] = domain_coordinator.emplace(a.domain, &p); !added) {
        diag.Report(
            p.role_mark, p.path + ".role",
            fmt::format("domain '{}' already has coordinator {}", a.domain, it->second->path));
      }
    }
  }
}

}  // namespace

int Fleet::TotalInstances() const {
  return std::accumulate(agents.begin(), agents.end(), 0,
                         [](int sum, const FleetAgent& a) { return sum + a.replicas; });
}

core::Result<Fleet> ParseFleet(std::string_view yaml, std::string_view filename) {
  Diagnostics diag(filename);
  std::optional<YAML::Node> root = internal::LoadYaml(yaml, diag);
  if (!root) {
    return core::Err(diag.ToStatus(std::string(kInvalidFleet)));
  }
  std::vector<ParsedAgent> parsed;
  MapCursor top(*root, "", &diag);
  if (top.valid()) {
    if (std::optional<YAML::Node> list = Require(top, "agents", diag)) {
      if (!list->IsSequence()) {
        diag.Report(list->Mark(), "agents", "must be a list of agents");
      } else {
        for (std::size_t i = 0; i < list->size(); ++i) {
          if (std::optional<ParsedAgent> agent = ParseAgent((*list)[i], i, diag)) {
            parsed.push_back(std::move(*agent));
          }
        }
      }
    }
    top.ReportUnknown();
  }
  CheckFleet(parsed, diag);
  if (!diag.ok()) {
    return core::Err(diag.ToStatus(std::string(kInvalidFleet)));
  }
  Fleet fleet;
  for (ParsedAgent& p : parsed) {
    fleet.agents.push_back(std::move(p.agent));
  }
  return fleet;
}

core::Result<Fleet> LoadFleetFile(const std::string& path) {
  core::Result<std::string> text = internal::ReadTextFile(path, "fleet_file_unreadable");
  if (!text) {
    return core::Err(text.error());
  }
  return ParseFleet(*text, path);
}

}  // namespace agentmesh::config
