// Identifiers: agent names, instance ids, node ids.
#pragma once

#include <string>
#include <string_view>

#include "agentmesh/core/status.h"

namespace agentmesh::core {

// Longest id accepted anywhere in the API.
inline constexpr std::size_t kMaxIdLength = 128;

// Returns ok when `id` is 1..128 characters of [A-Za-z0-9._-] starting with a letter
// or digit. Errors: kInvalidArgument with reason "invalid_<what>" naming the field.
Status ValidateId(std::string_view id, std::string_view what);

// Returns a fresh random id of 16 lowercase hex characters (for node ids).
std::string NewRandomId();

}  // namespace agentmesh::core
