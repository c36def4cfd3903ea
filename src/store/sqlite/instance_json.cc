#include "store/sqlite/instance_json.h"

#include <limits>

#include <boost/json.hpp>

namespace agentmesh::store::sqlite {
namespace {

namespace json = boost::json;

core::Status Corrupt(std::string_view what) {
  return {core::StatusCode::kDataLoss, "store_corrupt",
          "a stored agent spec is unreadable: " + std::string(what)};
}

bool ReadString(const json::object& obj, std::string_view key, std::string* out) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return false;
  }
  *out = std::string(v->get_string());
  return true;
}

bool ReadInt(const json::object& obj, std::string_view key, int* out) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_int64()) {
    return false;
  }
  const std::int64_t n = v->get_int64();
  if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
    return false;
  }
  *out = static_cast<int>(n);
  return true;
}

}  // namespace

std::string EncodeInstanceSpec(const health::InstanceSpec& spec) {
  json::array capabilities;
  for (const std::string& c : spec.capabilities) {
    capabilities.emplace_back(c);
  }
  json::object metadata;
  for (const auto& [key, value] : spec.metadata) {
    metadata[key] = value;
  }
  json::object obj;
  obj["id"] = spec.id;
  obj["agent"] = spec.agent;
  obj["phase"] = spec.phase;
  obj["domain"] = spec.domain;
  obj["capabilities"] = std::move(capabilities);
  obj["address"] = spec.address;
  obj["weight"] = spec.weight;
  obj["metadata"] = std::move(metadata);
  return json::serialize(obj);
}

core::Result<health::InstanceSpec> DecodeInstanceSpec(std::string_view text) {
  json::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) {
    return core::Err(Corrupt(ec.message()));
  }
  const json::object* obj = value.if_object();
  if (obj == nullptr) {
    return core::Err(Corrupt("not a JSON object"));
  }
  health::InstanceSpec spec;
  if (!ReadString(*obj, "id", &spec.id) || !ReadString(*obj, "agent", &spec.agent) ||
      !ReadInt(*obj, "phase", &spec.phase) || !ReadString(*obj, "domain", &spec.domain) ||
      !ReadString(*obj, "address", &spec.address) || !ReadInt(*obj, "weight", &spec.weight)) {
    return core::Err(Corrupt("a required field is missing or has the wrong type"));
  }
  const json::value* capabilities = obj->if_contains("capabilities");
  if (capabilities == nullptr || !capabilities->is_array()) {
    return core::Err(Corrupt("capabilities is not an array"));
  }
  for (const json::value& c : capabilities->get_array()) {
    if (!c.is_string()) {
      return core::Err(Corrupt("a capability is not a string"));
    }
    spec.capabilities.emplace_back(c.get_string());
  }
  const json::value* metadata = obj->if_contains("metadata");
  if (metadata == nullptr || !metadata->is_object()) {
    return core::Err(Corrupt("metadata is not an object"));
  }
  for (const auto& entry : metadata->get_object()) {
    if (!entry.value().is_string()) {
      return core::Err(Corrupt("a metadata value is not a string"));
    }
    spec.metadata.emplace(std::string(entry.key()), std::string(entry.value().get_string()));
  }
  return spec;
}

}  // namespace agentmesh::store::sqlite
