#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "client/mesh_json_internal.h"

namespace agentmesh::client::internal {

std::string SpecToJson(const health::InstanceSpec& spec) {
  boost::json::object body;
  body["agent"] = spec.agent;
  body["phase"] = spec.phase;
  if (!spec.domain.empty()) {
    body["domain"] = spec.domain;
  }
  if (!spec.capabilities.empty()) {
    boost::json::array caps;
    for (const auto& c : spec.capabilities) {
      caps.emplace_back(c);
    }
    body["capabilities"] = std::move(caps);
  }
  if (!spec.address.empty()) {
    body["address"] = spec.address;
  }
  body["weight"] = spec.weight;
  if (!spec.metadata.empty()) {
    boost::json::object meta;
    for (const auto& [k, v] : spec.metadata) {
      meta[k] = v;
    }
    body["metadata"] = std::move(meta);
  }
  return boost::json::serialize(body);
}

std::string LoadToJson(const health::LoadSample& load) {
  boost::json::object body;
  body["cpu"] = std::clamp(load.cpu, 0.0, 1.0);
  body["memory"] = std::clamp(load.memory, 0.0, 1.0);
  body["queue_depth"] = std::max(load.queue_depth, 0.0);
  return boost::json::serialize(body);
}

std::string ObservationToJson(std::string_view observer, bool healthy) {
  boost::json::object body;
  body["observer"] = observer;
  body["healthy"] = healthy;
  return boost::json::serialize(body);
}

std::string StatusField(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    return {};
  }
  const auto* status = v.as_object().if_contains("status");
  return status && status->is_string() ? std::string(status->as_string()) : std::string();
}

}  // namespace agentmesh::client::internal
