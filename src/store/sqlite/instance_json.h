// The JSON form in which the agents table stores an InstanceSpec.
//
// Internal to store/sqlite. Fields: id, agent, phase, domain, capabilities, address,
// weight, metadata. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "agentmesh/core/status.h"
#include "agentmesh/health/types.h"

namespace agentmesh::store::sqlite {

// Returns `spec` as a compact JSON object.
std::string EncodeInstanceSpec(const health::InstanceSpec& spec);

// Parses what EncodeInstanceSpec wrote.
// Errors: kDataLoss ("store_corrupt") when `json` is not a valid spec.
core::Result<health::InstanceSpec> DecodeInstanceSpec(std::string_view json);

}  // namespace agentmesh::store::sqlite
