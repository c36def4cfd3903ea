// Shared pieces of the EtcdClient integration tests: a fixture with one real etcd per
// test suite, a runner that drives a coroutine to completion on a test io_context,
// and unique key prefixes so tests (and --gtest_repeat runs) never see each other's
// keys. Owned by the test tree. Not thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "agentmesh/etcd/etcd_client.h"

#include "testing/etcd_server.h"

namespace agentmesh::etcd::testing {

// Runs the awaitable that `make()` returns on `ioc` until it completes; returns its value.
template <typename Make>
auto RunCall(boost::asio::io_context& ioc, Make make) {
  using Value = typename decltype(make())::value_type;
  std::optional<Value> out;
  boost::asio::co_spawn(
      ioc, [&]() -> boost::asio::awaitable<void> { out = co_await make(); }, boost::asio::detached);
  ioc.restart();
  ioc.run();
  return std::move(*out);
}

// A prefix no other test (or repetition) uses: "t/<name>/<n>/".
inline std::string UniquePrefix(const std::string& name) {
  static std::atomic<int> counter{0};
  return "t/" + name + "/" + std::to_string(counter.fetch_add(1)) + "/";
}

// One etcd for every test of a suite; each test gets a fresh io_context and client.
class EtcdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!agentmesh::testing::EtcdServer::Installed()) {
      return;
    }
    server_ = new agentmesh::testing::EtcdServer();
    start_error_ = server_->Start();
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    if (server_ == nullptr) {
      GTEST_SKIP() << "etcd is not installed at " << agentmesh::testing::EtcdServer::kBinary;
    }
    ASSERT_EQ(start_error_, "");
    client_ = std::make_unique<EtcdClient>(ioc_.get_executor(), Options());
  }

  void TearDown() override {
    client_.reset();
    ioc_.restart();
    ioc_.run();
  }

  static EtcdClientOptions Options() {
    EtcdClientOptions options;
    options.endpoints = {server_->endpoint()};
    options.request_timeout = std::chrono::seconds(3);
    return options;
  }

  template <typename Make>
  auto Run(Make make) {
    return RunCall(ioc_, std::move(make));
  }

  static inline agentmesh::testing::EtcdServer* server_ = nullptr;
  static inline std::string start_error_;
  boost::asio::io_context ioc_;
  std::unique_ptr<EtcdClient> client_;
};

}  // namespace agentmesh::etcd::testing
