// Shared by the gateway's integration tests: a node on port 0 with test upstreams
// registered as agent instances, and helpers to call through it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "agentmesh/client/http_client.h"

#include "integration/node_api.h"
#include "testing/node_process.h"
#include "testing/test_upstream.h"

namespace agentmesh::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The value of header `name` (case-insensitive) an upstream received, if it got one.
inline std::optional<std::string> FindHeader(const TestUpstream::Received& r,
                                             std::string_view name) {
  for (const auto& [key, value] : r.headers) {
    if (boost::beast::iequals(key, name)) {
      return value;
    }
  }
  return std::nullopt;
}

// The value of header `name` an upstream received, or "".
inline std::string HeaderOf(const TestUpstream::Received& r, std::string_view name) {
  return FindHeader(r, name).value_or("");
}

// The error.code of an API error body, or "".
inline std::string ErrorCode(const client::HttpResponse& res) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(res.body, ec);
  return ec ? ""
            : Str(v.is_object() && v.as_object().contains("error") ? v.at("error") : v, "code");
}

class GatewayFixture : public ::testing::Test {
 protected:
  void Start(const std::string& policy) {
    ASSERT_EQ(StartNode(node_, dir_, policy), "");
    base_ = node_.base_url();
    host_port_ = base_.substr(std::string("http://").size());
  }

  // Registers instance `id` of `agent` at `address` ("" = no address).
  void Register(const std::string& id, const std::string& agent, const std::string& address,
                const std::vector<std::string>& capabilities = {}) {
    boost::json::object spec{{"agent", agent}, {"phase", 2}, {"domain", "testing"}};
    if (!address.empty()) {
      spec["address"] = address;
    }
    boost::json::array caps;
    for (const auto& c : capabilities) {
      caps.emplace_back(c);
    }
    spec["capabilities"] = std::move(caps);
    const auto r = CallJson(base_, "PUT", "/v1/agents/" + id, spec);
    ASSERT_EQ(r.status, 201) << r.raw;
  }

  // Starts an upstream named `agent` and registers it as instance `agent`-1.
  TestUpstream& Upstream(const std::string& agent) {
    upstreams_.push_back(std::make_unique<TestUpstream>(agent));
    Register(agent + "-1", agent, upstreams_.back()->address());
    return *upstreams_.back();
  }

  core::Result<client::HttpResponse> Call(const std::string& method, const std::string& target,
                                          std::string body = "", Headers headers = {},
                                          core::Duration timeout = std::chrono::seconds(10)) {
    client::HttpRequest req(method, target, std::move(body));
    req.headers = std::move(headers);
    return client::FetchBlocking(base_, std::move(req), timeout);
  }

  TempDir dir_;
  NodeProcess node_;
  std::string base_;
  std::string host_port_;  // base_ without "http://", for forwarding upstreams
  std::vector<std::unique_ptr<TestUpstream>> upstreams_;
};

}  // namespace agentmesh::testing
