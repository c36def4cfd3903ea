// HealthChecker against real loopback sockets: one target answers 200, one refuses.
#include "agentmesh/server/health_checker.h"

#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "fake_membership_store.h"
#include "testing/manual_clock.h"

namespace agentmesh::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// Answers every request on every connection with `status_line` and an empty body.
asio::awaitable<void> Serve(tcp::acceptor& acceptor, std::string status_line) {
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return;
    }
    asio::streambuf buf;
    // Whatever the read ends with, the answer is the same.
    co_await asio::async_read_until(socket, buf, "\r\n\r\n", asio::as_tuple(asio::use_awaitable));
    const std::string reply = status_line + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
  }
}

std::string Address(const tcp::acceptor& a) {
  return "127.0.0.1:" + std::to_string(a.local_endpoint().port());
}

TEST(HealthCheckerTest, RecordsSuccessForTwoHundredAndFailureOtherwise) {
  asio::io_context ioc;
  testing::ManualClock clock;
  observe::Registry metrics;
  testing::FakeMembershipStore store;
  MembershipService service(health::MembershipOptions{}, "node-a", store, clock, nullptr, metrics);

  tcp::acceptor ok(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  tcp::acceptor failing(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  std::string refused;
  {
    tcp::acceptor closed(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    refused = Address(closed);
  }
  asio::co_spawn(ioc, Serve(ok, "HTTP/1.1 200 OK"), asio::detached);
  asio::co_spawn(ioc, Serve(failing, "HTTP/1.1 500 Internal Server Error"), asio::detached);

  const auto register_one = [&](std::string id, std::string address) {
    health::InstanceSpec spec;
    spec.id = std::move(id);
    spec.agent = "ai-agent-tester";
    spec.phase = 2;
    spec.address = std::move(address);
    asio::co_spawn(
        ioc, [&, spec]() -> asio::awaitable<void> { (void)co_await service.Register(spec); },
        asio::detached);
  };
  register_one("up", Address(ok));
  register_one("err", Address(failing));
  register_one("down", refused);

  HealthChecker checker({.interval = std::chrono::seconds(10),
                         .timeout = std::chrono::seconds(2),
                         .max_in_flight = 2},
                        service, ioc.get_executor());
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await checker.RunRound();
        ok.close();
        failing.close();
      },
      asio::detached);
  ioc.run();

  EXPECT_EQ(service.Get("up")->state, health::HealthState::kHealthy);
  EXPECT_EQ(service.Get("up")->consecutive_failures, 0);
  EXPECT_EQ(service.Get("err")->consecutive_failures, 1);
  EXPECT_EQ(service.Get("down")->consecutive_failures, 1);
  EXPECT_EQ(service.Get("down")->state, health::HealthState::kSuspect);
  const std::string text = metrics.Render();
  EXPECT_NE(text.find("agentmesh_health_checks_total{result=\"ok\"} 1"), std::string::npos);
  EXPECT_NE(text.find("agentmesh_health_checks_total{result=\"failed\"} 2"), std::string::npos);
}

TEST(HealthCheckerOptionsTest, TimeoutMustBeBelowInterval) {
  EXPECT_TRUE(Validate(HealthCheckerOptions{}).ok());
  EXPECT_FALSE(Validate(HealthCheckerOptions{.interval = std::chrono::seconds(1),
                                             .timeout = std::chrono::seconds(1)})
                   .ok());
  EXPECT_FALSE(Validate(HealthCheckerOptions{.max_in_flight = 0}).ok());
}

}  // namespace
}  // namespace agentmesh::server
