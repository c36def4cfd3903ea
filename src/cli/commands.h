// Subcommands of the agentmesh binary. Each Add*Command registers itself on `app`;
// its callback throws CLI::RuntimeError(code) to exit non-zero.
#pragma once

#include <CLI/CLI.hpp>

namespace agentmesh::cli {

void AddServeCommand(CLI::App& app);   // serve_cmd.cc
void AddDemoCommand(CLI::App& app);    // demo_cmd.cc
void AddAgentsCommand(CLI::App& app);  // agents_cmd.cc
void AddConfigCommand(CLI::App& app);  // config_cmd.cc

}  // namespace agentmesh::cli
