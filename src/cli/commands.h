// Subcommands of the agentmesh binary. Each Add*Command registers itself on `app`;
// its callback throws CLI::RuntimeError(code) to exit non-zero.
#pragma once

#include <CLI/CLI.hpp>

namespace agentmesh::cli {

void AddServeCommand(CLI::App& app);   // serve_cmd.cc
void AddDemoCommand(CLI::App& app);    // demo_cmd.cc
void AddAgentsCommand(CLI::App& app);  // agents_cmd.cc
void AddConfigCommand(CLI::App& app);  // config_cmd.cc

// The coordination API: sessions, elections, locks, barriers, proposals, coordinators.
void AddSessionsCommand(CLI::App& app);      // coord_cmds.cc
void AddElectionsCommand(CLI::App& app);     // coord_cmds.cc
void AddCoordinatorsCommand(CLI::App& app);  // coord_cmds.cc
void AddLocksCommand(CLI::App& app);         // coord_sync_cmds.cc
void AddBarriersCommand(CLI::App& app);      // coord_sync_cmds.cc
void AddProposalsCommand(CLI::App& app);     // coord_sync_cmds.cc

}  // namespace agentmesh::cli
