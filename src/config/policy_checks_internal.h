// Checks that span several keys (a timeout below its interval, weights that sum
// to one), run after every key has parsed.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <yaml-cpp/yaml.h>

#include "agentmesh/config/policy.h"

#include "config/yaml_reader_internal.h"

namespace agentmesh::config::internal {

// Where each key path that the file sets appears, for pointing at it.
using MarkIndex = std::map<std::string, YAML::Mark, std::less<>>;

// Reports every inconsistent group of keys in `policy`, at the first of them that the
// file sets (or where their section starts).
void CheckConsistency(const Policy& policy, const MarkIndex& marks, Diagnostics& diag);

}  // namespace agentmesh::config::internal
