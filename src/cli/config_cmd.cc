// `agentmesh config check FILE` and `agentmesh config defaults`.
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "agentmesh/config/fleet.h"
#include "agentmesh/config/policy.h"

#include "cli/commands.h"

namespace agentmesh::cli {
namespace {

struct CheckArgs {
  std::string file;
  bool fleet = false;
};

// Validates a policy (or, with --fleet, a fleet) file; exits 1 with the errors.
void RunCheck(const CheckArgs& args) {
  if (args.fleet) {
    core::Result<config::Fleet> fleet = config::LoadFleetFile(args.file);
    if (!fleet) {
      std::cerr << fleet.error().message() << "\n";
      throw CLI::RuntimeError(1);
    }
    std::cout << args.file << ": ok (" << fleet->agents.size() << " agents, "
              << fleet->TotalInstances() << " instances)\n";
    return;
  }
  core::Result<config::Policy> policy = config::LoadPolicyFile(args.file);
  if (!policy) {
    std::cerr << policy.error().message() << "\n";
    throw CLI::RuntimeError(1);
  }
  std::cout << args.file << ": ok\n";
}

}  // namespace

void AddConfigCommand(CLI::App& app) {
  CLI::App* config = app.add_subcommand("config", "Validate a policy file or print the defaults");
  config->require_subcommand(1);

  auto args = std::make_shared<CheckArgs>();
  CLI::App* check = config->add_subcommand(
      "check", "Validate FILE; print \"FILE: ok\" or its errors as FILE:LINE:COLUMN");
  check->add_option("FILE", args->file, "Policy file (or fleet file with --fleet)")->required();
  check->add_flag("--fleet", args->fleet,
                  "FILE is a fleet file (e.g. examples/sutazai/fleet.yaml)");
  check->callback([args] { RunCheck(*args); });

  CLI::App* defaults = config->add_subcommand(
      "defaults", "Print the compiled-in policy (the SutazAI rules) as YAML, every key");
  defaults->callback([] { std::cout << config::DumpPolicy(config::DefaultPolicy()); });
}

}  // namespace agentmesh::cli
