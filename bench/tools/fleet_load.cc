// fleet_load: registers N instances with a node and keeps them heartbeating at a fixed
// rate (every --interval, spread evenly), like a real fleet. Used by
// bench/compare/fleet_10k to measure the node's CPU and memory per instance.
//
//   fleet_load --port P [--instances 10000] [--interval-ms 5000] [--seconds 60]
//              [--connections 16] [--phase register|heartbeat|both] [--rounds N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct Args {
  int port = 7700;
  int instances = 10000;
  int interval_ms = 5000;
  int seconds = 60;
  int connections = 16;
  std::string phase = "both";
  long rounds = 0;  // when > 0, stop after this many heartbeats per instance
};

struct Totals {
  long sent = 0;
  long failed = 0;
};

asio::awaitable<bool> Send(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                           http::verb verb, const std::string& target, std::string body) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  auto [ec, n] = co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
  if (ec) {
    co_return false;
  }
  http::response<http::string_body> res;
  auto [ec2, n2] = co_await http::async_read(stream, buffer, res, asio::as_tuple(asio::use_awaitable));
  co_return !ec2 && res.result_int() < 300;
}

asio::awaitable<void> Worker(const Args& args, int worker, Totals& totals) {
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), args.port),
                                asio::use_awaitable);
  stream.socket().set_option(tcp::no_delay(true));
  beast::flat_buffer buffer;
  std::vector<int> mine;
  for (int i = worker; i < args.instances; i += args.connections) {
    mine.push_back(i);
  }
  if (args.phase != "heartbeat") {
    for (int i : mine) {
      std::string body = "{\"agent\":\"load-agent-" + std::to_string(i % 69) +
                         "\",\"phase\":" + std::to_string(1 + i % 3) +
                         ",\"domain\":\"load\",\"capabilities\":[\"work\",\"cap-" +
                         std::to_string(i % 7) + "\"]}";
      bool ok = co_await Send(stream, buffer, http::verb::put,
                              "/v1/agents/load-" + std::to_string(i), body);
      ++totals.sent;
      totals.failed += ok ? 0 : 1;
    }
  }
  if (args.phase == "register" || mine.empty()) {
    co_return;
  }
  // Each instance heartbeats once per interval; this worker's instances are spread
  // evenly over the interval, with a per-worker offset.
  auto gap = std::chrono::microseconds(args.interval_ms * 1000LL / static_cast<long>(mine.size()));
  // With --rounds the schedule is only an upper bound on the rate; with interval 0 it
  // sends back to back.
  auto start = std::chrono::steady_clock::now() +
               std::chrono::microseconds(args.interval_ms * 1000LL * worker / args.connections /
                                         static_cast<long>(mine.size()));
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(args.seconds);
  asio::steady_timer timer(ex);
  for (long k = 0;; ++k) {
    auto due = start + gap * k;
    if (args.rounds > 0 ? k >= args.rounds * static_cast<long>(mine.size()) : due >= end) {
      break;
    }
    timer.expires_at(due);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    int i = mine[k % mine.size()];
    std::string body = "{\"cpu\":0." + std::to_string(10 + i % 80) + ",\"memory\":0.5,\"queue_depth\":" +
                       std::to_string(i % 5) + "}";
    bool ok = co_await Send(stream, buffer, http::verb::put,
                            "/v1/agents/load-" + std::to_string(i) + "/heartbeat", body);
    ++totals.sent;
    totals.failed += ok ? 0 : 1;
  }
}

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--port") args.port = std::atoi(v.c_str());
    else if (k == "--instances") args.instances = std::atoi(v.c_str());
    else if (k == "--interval-ms") args.interval_ms = std::atoi(v.c_str());
    else if (k == "--seconds") args.seconds = std::atoi(v.c_str());
    else if (k == "--connections") args.connections = std::atoi(v.c_str());
    else if (k == "--phase") args.phase = v;
    else if (k == "--rounds") args.rounds = std::atol(v.c_str());
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  asio::io_context io(1);
  Totals totals;
  for (int w = 0; w < args.connections; ++w) {
    asio::co_spawn(io, Worker(args, w, totals), [](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::fprintf(stderr, "worker failed: %s\n", ex.what());
        }
      }
    });
  }
  auto t0 = std::chrono::steady_clock::now();
  io.run();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("fleet_load: %ld requests (%ld failed) in %.1f s, %.0f req/s\n", totals.sent,
              totals.failed, secs, totals.sent / secs);
  return totals.failed == 0 ? 0 : 1;
}
