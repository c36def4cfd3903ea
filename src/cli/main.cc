// agentmesh: one binary for the node, the demo and the client commands.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"agentmesh: makes a fleet of AI agents behave as one reliable distributed system"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "agentmesh 0.1.0");
  agentmesh::cli::AddServeCommand(app);
  agentmesh::cli::AddDemoCommand(app);
  agentmesh::cli::AddAgentsCommand(app);
  agentmesh::cli::AddConfigCommand(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
