#include "cli/demo_agent.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "agentmesh/client/http_client.h"

namespace agentmesh::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// An idle keep-alive connection to an agent is closed after this long.
constexpr auto kIdleTimeout = std::chrono::seconds(10);

// A load that wanders like a busy agent's: small random steps, kept in range.
std::function<health::LoadSample()> WanderingLoad(std::uint64_t seed) {
  struct Walk {
    std::mt19937_64 rng;
    health::LoadSample load{0.3, 0.4, 2};
  };
  auto walk = std::make_shared<Walk>(Walk{std::mt19937_64(seed)});
  return [walk] {
    std::normal_distribution<double> step(0.0, 1.0);
    health::LoadSample& l = walk->load;
    l.cpu = std::clamp(l.cpu + 0.05 * step(walk->rng), 0.05, 0.95);
    l.memory = std::clamp(l.memory + 0.02 * step(walk->rng), 0.10, 0.90);
    l.queue_depth = std::clamp(std::round(l.queue_depth + 1.5 * step(walk->rng)), 0.0, 50.0);
    return l;
  };
}

}  // namespace

// The HTTP side of the agent. Lives on its own strand; shared with its coroutines.
class DemoAgent::Endpoint : public std::enable_shared_from_this<Endpoint> {
 public:
  Endpoint(asio::any_io_executor executor, std::string id, core::Duration slow_delay)
      : strand_(asio::make_strand(std::move(executor))),
        id_(std::move(id)),
        slow_delay_(slow_delay) {}

  asio::strand<asio::any_io_executor>& strand() { return strand_; }

  // Strand only. Binds 127.0.0.1 (the port of the previous bind, if any).
  core::Status Listen() {
    auto acceptor = std::make_shared<tcp::acceptor>(strand_);
    const tcp::endpoint where(asio::ip::address_v4::loopback(), port_);
    beast::error_code ec;
    acceptor->open(where.protocol(), ec);
    if (!ec) {
      acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor->bind(where, ec);
    }
    if (!ec) {
      acceptor->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return core::Unavailable("listen_failed", "agent " + id_ + " cannot listen on 127.0.0.1:" +
                                                    std::to_string(port_) + ": " + ec.message());
    }
    port_ = acceptor->local_endpoint().port();
    acceptor_ = acceptor;
    const std::uint64_t epoch = ++epoch_;
    asio::co_spawn(
        strand_,
        [self = shared_from_this(), acceptor, epoch] { return self->Accept(acceptor, epoch); },
        asio::detached);
    return core::OkStatus();
  }

  // Strand only. Stops accepting; open connections drop before their next answer.
  void Close() {
    ++epoch_;
    if (acceptor_) {
      beast::error_code ignored;
      acceptor_->close(ignored);
      acceptor_.reset();
    }
  }

  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }

  std::atomic<DemoFault> fault{DemoFault::kNone};
  std::atomic<bool> leaving{false};

 private:
  asio::awaitable<void> Accept(std::shared_ptr<tcp::acceptor> acceptor, std::uint64_t epoch) {
    for (;;) {
      auto [ec, socket] = co_await acceptor->async_accept(kNoThrow);
      if (ec || epoch != epoch_) {
        co_return;
      }
      asio::co_spawn(
          strand_,
          [self = shared_from_this(), s = std::move(socket), epoch]() mutable {
            return self->Serve(std::move(s), epoch);
          },
          asio::detached);
    }
  }

  asio::awaitable<void> Serve(tcp::socket socket, std::uint64_t epoch) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      stream.expires_after(kIdleTimeout);
      http::request<http::string_body> req;
      auto [read_ec, n] = co_await http::async_read(stream, buffer, req, kNoThrow);
      if (read_ec || epoch != epoch_) {
        break;
      }
      http::response<http::string_body> res = co_await Answer(req);
      if (epoch != epoch_) {
        break;  // crashed while answering: the caller sees the connection drop
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [write_ec, written] = co_await http::async_write(stream, res, kNoThrow);
      if (write_ec || !req.keep_alive()) {
        break;
      }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  asio::awaitable<http::response<http::string_body>> Answer(
      const http::request<http::string_body>& req) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    const std::string_view target = req.target();
    if (target == "/health") {
      const DemoFault now = fault.load();
      if (now == DemoFault::kSlowHealth) {
        asio::steady_timer timer(strand_, slow_delay_);
        co_await timer.async_wait(kNoThrow);
      }
      if (now == DemoFault::kFailingHealth) {
        res.result(http::status::internal_server_error);
        res.body() = R"({"status":"failing","id":")" + id_ + "\"}";
      } else {
        res.body() = R"({"status":"ok","id":")" + id_ + "\"}";
      }
    } else if (target == "/work" || target.starts_with("/work?")) {
      res.body() =
          R"({"id":")" + id_ + R"(","result":"done","served":)" + std::to_string(++served_) + "}";
    } else {
      res.result(http::status::not_found);
      res.body() = R"({"error":{"code":"unknown_route","message":"try /health or /work"}})";
    }
    co_return res;
  }

  asio::strand<asio::any_io_executor> strand_;
  const std::string id_;
  const core::Duration slow_delay_;
  // Strand only.
  std::shared_ptr<tcp::acceptor> acceptor_;
  std::uint16_t port_ = 0;
  std::uint64_t epoch_ = 0;
  std::uint64_t served_ = 0;
};

DemoAgent::DemoAgent(asio::any_io_executor executor, DemoAgentOptions options)
    : options_(std::move(options)),
      endpoint_(std::make_shared<Endpoint>(std::move(executor), options_.spec.id,
                                           options_.slow_health_delay)) {}

DemoAgent::~DemoAgent() {
  endpoint_->leaving.store(true);
  asio::post(endpoint_->strand(), [ep = endpoint_] { ep->Close(); });
  client_.reset();
}

DemoFault DemoAgent::fault() const { return endpoint_->fault.load(); }

client::AgentClientOptions DemoAgent::ClientOptions() const {
  client::AgentClientOptions o;
  o.node_url = options_.node_url;
  o.spec = options_.spec;
  o.heartbeat_interval = options_.heartbeat_interval;
  o.load = WanderingLoad(options_.seed);
  return o;
}

core::Status DemoAgent::Open() {
  std::promise<core::Status> listened;
  asio::post(endpoint_->strand(), [&] { listened.set_value(endpoint_->Listen()); });
  core::Status status = listened.get_future().get();
  if (status.ok()) {
    options_.spec.address = endpoint_->Address();
    client_ = std::make_shared<client::AgentClient>(ClientOptions(),
                                                    endpoint_->strand().get_inner_executor());
  }
  return status;
}

void DemoAgent::Join(client::AgentClient::Callback done) {
  std::weak_ptr<client::AgentClient> weak = client_;
  client_->RegisterAsync([weak, ep = endpoint_, done = std::move(done)](core::Status status) {
    auto c = weak.lock();
    if (status.ok() && c && !ep->leaving.load() && ep->fault.load() != DemoFault::kCrashed) {
      c->StartHeartbeats();
    }
    if (done) {
      done(std::move(status));
    }
  });
}

void DemoAgent::Crash() {
  endpoint_->fault.store(DemoFault::kCrashed);
  client_->StopHeartbeats();
  asio::post(endpoint_->strand(), [ep = endpoint_] { ep->Close(); });
}

void DemoAgent::Recover() {
  asio::post(endpoint_->strand(), [this, ep = endpoint_] {
    if (ep->leaving.load() || ep->fault.load() != DemoFault::kCrashed || !ep->Listen().ok()) {
      return;
    }
    ep->fault.store(DemoFault::kNone);
    Join({});
  });
}

void DemoAgent::SetHealthFault(DemoFault fault) {
  if (fault != DemoFault::kCrashed && endpoint_->fault.load() != DemoFault::kCrashed) {
    endpoint_->fault.store(fault);
  }
}

void DemoAgent::Probe(std::string peer_id, std::string peer_address) {
  std::weak_ptr<client::AgentClient> weak = client_;
  auto ep = endpoint_;
  const core::Duration timeout = options_.probe_timeout;
  asio::co_spawn(
      ep->strand(),
      [weak, ep, timeout, peer_id = std::move(peer_id),
       peer_address = std::move(peer_address)]() -> asio::awaitable<void> {
        client::HttpRequest req("GET", "/health");
        auto result = co_await client::FetchOnce(ep->strand(), peer_address, req, timeout);
        const bool healthy = result.has_value() && result->status == 200;
        auto c = weak.lock();
        if (c && !ep->leaving.load() && ep->fault.load() != DemoFault::kCrashed) {
          c->ReportObservationAsync(peer_id, healthy);
        }
      },
      asio::detached);
}

void DemoAgent::Leave(client::AgentClient::Callback done) {
  endpoint_->leaving.store(true);
  asio::post(endpoint_->strand(), [ep = endpoint_] { ep->Close(); });
  client_->DeregisterAsync(std::move(done));
}

}  // namespace agentmesh::cli
