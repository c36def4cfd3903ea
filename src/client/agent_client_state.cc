#include "client/agent_client_state.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agentmesh/client/api_status.h"
#include "agentmesh/core/ids.h"

#include "client/mesh_json_internal.h"

namespace agentmesh::client {
namespace {

namespace asio = boost::asio;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Answers worth another registration attempt: the node is there but busy or broken.
bool IsRetryableHttpStatus(int status) { return status >= 500 || status == 429 || status == 408; }

}  // namespace

AgentClient::State::State(AgentClientOptions options, asio::any_io_executor executor)
    : options_(std::move(options)),
      validation_(Validate(options_)),
      strand_(asio::make_strand(std::move(executor))) {
  if (auto base = ParseBaseUrl(options_.node_url)) {
    base_ = std::move(*base);
  }
}

AgentClientStats AgentClient::State::Stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

void AgentClient::State::Spawn(asio::awaitable<core::Status> work, Callback done) {
  asio::co_spawn(strand_, std::move(work),
                 [self = shared_from_this(), done = std::move(done)](std::exception_ptr error,
                                                                     core::Status status) {
                   if (error) {
                     status = core::Internal("client_exception", "agent client task failed");
                   }
                   if (done) {
                     done(std::move(status));
                   }
                 });
}

void AgentClient::State::RegisterAsync(Callback done) {
  Spawn(RegisterWithRetries(), std::move(done));
}

void AgentClient::State::ObserveAsync(std::string peer_id, bool healthy, Callback done) {
  Spawn(Observe(std::move(peer_id), healthy), std::move(done));
}

void AgentClient::State::DeregisterAsync(Callback done) {
  heartbeating_.store(false);
  Spawn(Leave(), std::move(done));
}

void AgentClient::State::StartHeartbeats() {
  heartbeating_.store(true);
  asio::post(strand_, [self = shared_from_this()] {
    if (self->loop_running_ || !self->heartbeating_.load()) {
      return;
    }
    const std::uint64_t generation = ++self->generation_;
    self->loop_running_ = true;
    self->loop_timer_ = std::make_shared<Timer>(self->strand_);
    self->loop_connection_ =
        std::make_shared<HttpConnection>(self->strand_, self->base_.host, self->base_.port);
    asio::co_spawn(self->strand_,
                   self->HeartbeatLoop(generation, self->loop_timer_, self->loop_connection_),
                   [self, generation](std::exception_ptr) {
                     if (self->generation_ == generation) {
                       self->loop_running_ = false;
                     }
                   });
  });
}

void AgentClient::State::StopHeartbeats() {
  heartbeating_.store(false);
  asio::post(strand_, [self = shared_from_this()] {
    if (!self->heartbeating_.load()) {
      self->EndLoop();
    }
  });
}

void AgentClient::State::EndLoop() {
  ++generation_;
  loop_running_ = false;
  if (loop_timer_) {
    loop_timer_->cancel();
    loop_timer_.reset();
  }
  if (loop_connection_) {
    loop_connection_->Close();
    loop_connection_.reset();
  }
}

asio::awaitable<core::Result<HttpResponse>> AgentClient::State::Call(HttpConnection* connection,
                                                                     HttpRequest req) {
  req.target = base_.path_prefix + req.target;
  if (connection != nullptr) {
    co_return co_await connection->Send(std::move(req), options_.request_timeout);
  }
  HttpConnection fresh(strand_, base_.host, base_.port);
  auto result = co_await fresh.Send(std::move(req), options_.request_timeout);
  fresh.Close();
  co_return result;
}

HttpRequest AgentClient::State::RegisterRequest() const {
  return HttpRequest("PUT", "/v1/agents/" + options_.spec.id, internal::SpecToJson(options_.spec));
}

void AgentClient::State::RecordRegistration(bool after_unknown_instance) {
  registered_.store(true);
  std::lock_guard lock(stats_mu_);
  ++stats_.registrations;
  if (after_unknown_instance) {
    ++stats_.reregistrations;
  }
}

asio::awaitable<core::Status> AgentClient::State::RegisterWithRetries() {
  if (!validation_.ok()) {
    co_return validation_;
  }
  core::Status last;
  core::Duration backoff = options_.register_backoff;
  for (int attempt = 1;; ++attempt) {
    if (closed_.load()) {
      co_return core::Status(core::StatusCode::kCancelled, "client_closed",
                             "the agent client is shutting down");
    }
    auto result = co_await Call(nullptr, RegisterRequest());
    if (result) {
      core::Status status = StatusFromResponse(*result);
      if (status.ok()) {
        RecordRegistration(false);
        co_return status;
      }
      if (!IsRetryableHttpStatus(result->status)) {
        co_return status;
      }
      last = std::move(status);
    } else {
      last = result.error();
    }
    if (attempt >= options_.register_attempts) {
      co_return last;
    }
    Timer timer(strand_, backoff);
    co_await timer.async_wait(kNoThrow);
    backoff = std::min(backoff * 2, options_.register_backoff_max);
  }
}

asio::awaitable<core::Status> AgentClient::State::Observe(std::string peer_id, bool healthy) {
  if (core::Status valid = core::ValidateId(peer_id, "peer_id"); !valid.ok()) {
    co_return valid;
  }
  HttpRequest req("POST", "/v1/agents/" + peer_id + "/observations",
                  internal::ObservationToJson(options_.spec.id, healthy));
  auto result = co_await Call(nullptr, std::move(req));
  if (!result) {
    co_return result.error();
  }
  core::Status status = StatusFromResponse(*result);
  if (status.ok()) {
    std::lock_guard lock(stats_mu_);
    ++stats_.observations_sent;
  }
  co_return status;
}

asio::awaitable<core::Status> AgentClient::State::Leave() {
  if (!heartbeating_.load()) {
    EndLoop();
  }
  if (!validation_.ok()) {
    co_return validation_;
  }
  auto result = co_await Call(nullptr, HttpRequest("DELETE", "/v1/agents/" + options_.spec.id));
  if (!result) {
    co_return result.error();
  }
  core::Status status = StatusFromResponse(*result);
  if (status.ok() || status.code() == core::StatusCode::kNotFound) {
    registered_.store(false);
  }
  co_return status;
}

asio::awaitable<void> AgentClient::State::HeartbeatLoop(
    std::uint64_t generation, std::shared_ptr<Timer> timer,
    std::shared_ptr<HttpConnection> connection) {
  const std::string target = "/v1/agents/" + options_.spec.id + "/heartbeat";
  while (generation_ == generation) {
    std::string body = options_.load ? internal::LoadToJson(options_.load()) : "{}";
    auto result = co_await Call(connection.get(), HttpRequest("PUT", target, std::move(body)));
    if (generation_ != generation) {
      break;
    }
    co_await OnHeartbeatResult(result, connection.get());
    if (generation_ != generation) {
      break;
    }
    timer->expires_after(options_.heartbeat_interval);
    co_await timer->async_wait(kNoThrow);
  }
}

asio::awaitable<void> AgentClient::State::OnHeartbeatResult(
    const core::Result<HttpResponse>& result, HttpConnection* connection) {
  if (result && result->status == 200) {
    std::lock_guard lock(stats_mu_);
    ++stats_.heartbeats_sent;
    stats_.consecutive_failures = 0;
    stats_.last_status = internal::StatusField(result->body);
    co_return;
  }
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.heartbeats_failed;
    ++stats_.consecutive_failures;
  }
  if (!result || closed_.load()) {
    co_return;
  }
  core::Status status = StatusFromResponse(*result);
  if (status.code() != core::StatusCode::kNotFound || status.reason() != "unknown_instance") {
    co_return;
  }
  // The node lost the registration (restart without its store, or it expired us).
  registered_.store(false);
  auto again = co_await Call(connection, RegisterRequest());
  if (again && StatusFromResponse(*again).ok()) {
    RecordRegistration(true);
  }
}

}  // namespace agentmesh::client
