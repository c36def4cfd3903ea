// The one-line status `agentmesh demo` prints every --interval, built from the node's
// GET /health answer and the faults the demo is injecting. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "agentmesh/client/http_client.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"

#include "cli/demo_fleet.h"

namespace agentmesh::cli {

// Returns e.g. "[t+15s] phase1 12/12 healthy | phase2 30/31 healthy 1 suspect |
// phase3 40/42 healthy 1 unhealthy 1 recovering | faults: 3 crashed, 1 slow, 1 failing".
// A failed fetch or an unreadable body is reported in place of the phases.
std::string FormatDemoSummary(core::Duration elapsed,
                              const core::Result<client::HttpResponse>& health,
                              const DemoFaultCounts& faults);

// Returns the phases part alone from a /health body, or "" if it has none.
std::string FormatPhaseStates(std::string_view health_body);

}  // namespace agentmesh::cli
