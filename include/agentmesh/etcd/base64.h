// Standard base64, as etcd's v3 JSON gateway writes keys and values. Owned by the etcd
// module; also used by the tests and benchmark tools that speak to etcd directly.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "agentmesh/core/status.h"

namespace agentmesh::etcd {

std::string Base64Encode(std::string_view in);
// Decodes standard base64 (padding optional). Errors: kInternal "etcd_error".
core::Result<std::string> Base64Decode(std::string_view in);

}  // namespace agentmesh::etcd
