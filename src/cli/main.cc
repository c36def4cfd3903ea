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
  agentmesh::cli::AddSessionsCommand(app);
  agentmesh::cli::AddElectionsCommand(app);
  agentmesh::cli::AddLocksCommand(app);
  agentmesh::cli::AddBarriersCommand(app);
  agentmesh::cli::AddProposalsCommand(app);
  agentmesh::cli::AddCoordinatorsCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11's usage errors have codes from 100 up; ours is 2 (see src/cli/README.md).
    const int code = app.exit(e);
    return code >= static_cast<int>(CLI::ExitCodes::IncorrectConstruction) ? 2 : code;
  }
  return 0;
}
