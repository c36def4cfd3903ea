// AgentClient::State: the part of AgentClient that lives on the executor.
//
// Shared with every coroutine it spawns, so it outlives the AgentClient while requests
// are in flight. Coroutines and the loop bookkeeping run on `strand_`; stats, the
// registered flag and the desired heartbeat state are readable from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "agentmesh/client/agent_client.h"
#include "agentmesh/client/http_client.h"

namespace agentmesh::client {

class AgentClient::State : public std::enable_shared_from_this<State> {
 public:
  State(AgentClientOptions options, boost::asio::any_io_executor executor);

  // Each spawns its work on the strand and calls `done` there (if set).
  void RegisterAsync(Callback done);
  void ObserveAsync(std::string peer_id, bool healthy, Callback done);
  void DeregisterAsync(Callback done);
  void StartHeartbeats();
  void StopHeartbeats();

  const AgentClientOptions& options() const { return options_; }
  bool registered() const { return registered_.load(); }
  bool heartbeating() const { return heartbeating_.load(); }
  AgentClientStats Stats() const;
  // After Close no registration is attempted any more (the owner is going away).
  void Close() { closed_.store(true); }

 private:
  using Timer = boost::asio::steady_timer;

  void Spawn(boost::asio::awaitable<core::Status> work, Callback done);
  boost::asio::awaitable<core::Result<HttpResponse>> Call(HttpConnection* connection,
                                                          HttpRequest req);
  HttpRequest RegisterRequest() const;
  boost::asio::awaitable<core::Status> RegisterWithRetries();
  boost::asio::awaitable<core::Status> Observe(std::string peer_id, bool healthy);
  boost::asio::awaitable<core::Status> Leave();
  boost::asio::awaitable<void> HeartbeatLoop(std::uint64_t generation, std::shared_ptr<Timer> timer,
                                             std::shared_ptr<HttpConnection> connection);
  boost::asio::awaitable<void> OnHeartbeatResult(const core::Result<HttpResponse>& result,
                                                 HttpConnection* connection);
  // Strand only: ends the current loop, if any.
  void EndLoop();
  void RecordRegistration(bool after_unknown_instance);

  const AgentClientOptions options_;
  const core::Status validation_;
  BaseUrl base_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;

  std::atomic<bool> registered_{false};
  std::atomic<bool> heartbeating_{false};
  std::atomic<bool> closed_{false};

  // Strand only.
  std::uint64_t generation_ = 0;
  bool loop_running_ = false;
  std::shared_ptr<Timer> loop_timer_;
  std::shared_ptr<HttpConnection> loop_connection_;

  mutable std::mutex stats_mu_;
  AgentClientStats stats_;
};

}  // namespace agentmesh::client
