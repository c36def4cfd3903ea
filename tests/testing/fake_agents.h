// FakeAgents: real HTTP endpoints for integration tests, one port per agent, all on one
// background io_context thread. Each agent answers GET /health according to its mode:
// kOk -> 200, kFail -> 500, kDead -> the port is closed (connection refused).
#pragma once

#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace agentmesh::testing {

class FakeAgents {
 public:
  enum class Mode { kOk, kFail, kDead };

  FakeAgents() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~FakeAgents() {
    boost::asio::post(io_, [this] {
      for (auto& [name, agent] : agents_) {
        boost::system::error_code ec;
        agent->acceptor.close(ec);
      }
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }

  // Starts an endpoint for `name` on 127.0.0.1:0 and returns "127.0.0.1:PORT".
  std::string Add(const std::string& name) {
    std::string address;
    std::promise<std::string> done;
    boost::asio::post(io_, [&] {
      auto agent = std::make_unique<Agent>(io_);
      Open(*agent, 0);
      done.set_value("127.0.0.1:" + std::to_string(agent->port));
      agents_[name] = std::move(agent);
    });
    return done.get_future().get();
  }

  // Switches `name` to `mode`; kDead closes its port, leaving kDead reopens it.
  void SetMode(const std::string& name, Mode mode) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      Agent& agent = *agents_.at(name);
      if (mode == Mode::kDead && agent.acceptor.is_open()) {
        boost::system::error_code ec;
        agent.acceptor.close(ec);
      } else if (mode != Mode::kDead && !agent.acceptor.is_open()) {
        Open(agent, agent.port);
      }
      agent.mode = mode;
      done.set_value();
    });
    done.get_future().get();
  }

  // Health requests answered so far by `name`.
  int HealthRequests(const std::string& name) {
    std::promise<int> done;
    boost::asio::post(io_, [&] { done.set_value(agents_.at(name)->health_requests); });
    return done.get_future().get();
  }

 private:
  struct Agent {
    explicit Agent(boost::asio::io_context& io) : acceptor(io) {}
    boost::asio::ip::tcp::acceptor acceptor;
    unsigned short port = 0;
    Mode mode = Mode::kOk;
    int health_requests = 0;
  };

  void Open(Agent& agent, unsigned short port) {
    using boost::asio::ip::tcp;
    tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
    agent.acceptor.open(ep.protocol());
    agent.acceptor.set_option(tcp::acceptor::reuse_address(true));
    agent.acceptor.bind(ep);
    agent.acceptor.listen();
    agent.port = agent.acceptor.local_endpoint().port();
    Accept(agent);
  }

  void Accept(Agent& agent) {
    agent.acceptor.async_accept([this, &agent](boost::system::error_code ec,
                                               boost::asio::ip::tcp::socket socket) {
      if (ec) {
        return;
      }
      Serve(agent, std::make_shared<boost::beast::tcp_stream>(std::move(socket)));
      Accept(agent);
    });
  }

  void Serve(Agent& agent, std::shared_ptr<boost::beast::tcp_stream> stream) {
    namespace http = boost::beast::http;
    auto buffer = std::make_shared<boost::beast::flat_buffer>();
    auto req = std::make_shared<http::request<http::string_body>>();
    http::async_read(*stream, *buffer, *req,
                     [this, &agent, stream, buffer, req](boost::system::error_code ec, std::size_t) {
                       if (ec || agent.mode == Mode::kDead) {
                         return;
                       }
                       ++agent.health_requests;
                       auto res = std::make_shared<http::response<http::string_body>>();
                       res->version(11);
                       bool ok = agent.mode == Mode::kOk;
                       res->result(ok ? http::status::ok : http::status::internal_server_error);
                       res->set(http::field::content_type, "application/json");
                       res->body() = ok ? R"({"status":"ok"})" : R"({"status":"failing"})";
                       res->keep_alive(false);
                       res->prepare_payload();
                       http::async_write(*stream, *res,
                                         [stream, res](boost::system::error_code, std::size_t) {
                                           boost::system::error_code ignored;
                                           stream->socket().shutdown(
                                               boost::asio::ip::tcp::socket::shutdown_both, ignored);
                                         });
                     });
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::map<std::string, std::unique_ptr<Agent>> agents_;
  std::thread thread_;
};

}  // namespace agentmesh::testing
