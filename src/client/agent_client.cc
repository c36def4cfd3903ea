#include "agentmesh/client/agent_client.h"

#include <future>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "agentmesh/client/http_client.h"
#include "agentmesh/core/ids.h"

#include "client/agent_client_state.h"

namespace agentmesh::client {
namespace {

core::Status InvalidOption(std::string message) {
  return core::InvalidArgument("invalid_option", std::move(message));
}

// Runs `start` and blocks until the callback it was handed fires.
core::Status Await(const std::function<void(AgentClient::Callback)>& start) {
  auto promise = std::make_shared<std::promise<core::Status>>();
  std::future<core::Status> future = promise->get_future();
  start([promise](core::Status status) { promise->set_value(std::move(status)); });
  return future.get();
}

}  // namespace

core::Status Validate(const AgentClientOptions& options) {
  if (auto base = ParseBaseUrl(options.node_url); !base) {
    return base.error();
  }
  if (core::Status s = core::ValidateId(options.spec.id, "id"); !s.ok()) {
    return s;
  }
  if (core::Status s = core::ValidateId(options.spec.agent, "agent"); !s.ok()) {
    return s;
  }
  if (options.spec.phase < health::kMinPhase || options.spec.phase > health::kMaxPhase) {
    return core::InvalidArgument("phase_out_of_range", "spec.phase must be 1, 2 or 3");
  }
  if (options.heartbeat_interval <= core::Duration::zero()) {
    return InvalidOption("heartbeat_interval must be positive");
  }
  if (options.request_timeout <= core::Duration::zero()) {
    return InvalidOption("request_timeout must be positive");
  }
  if (options.register_attempts < 1) {
    return InvalidOption("register_attempts must be at least 1");
  }
  if (options.register_backoff <= core::Duration::zero() ||
      options.register_backoff_max < options.register_backoff) {
    return InvalidOption("register_backoff must be positive and at most register_backoff_max");
  }
  return core::OkStatus();
}

struct AgentClient::OwnLoop {
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread;
};

AgentClient::AgentClient(AgentClientOptions options) : own_loop_(std::make_unique<OwnLoop>()) {
  own_loop_->thread = std::thread([loop = own_loop_.get()] { loop->ioc.run(); });
  state_ = std::make_shared<State>(std::move(options), own_loop_->ioc.get_executor());
}

AgentClient::AgentClient(AgentClientOptions options, boost::asio::any_io_executor executor)
    : state_(std::make_shared<State>(std::move(options), std::move(executor))) {}

AgentClient::~AgentClient() {
  state_->Close();
  if (state_->registered()) {
    auto promise = std::make_shared<std::promise<void>>();
    std::future<void> done = promise->get_future();
    state_->DeregisterAsync([promise](const core::Status&) { promise->set_value(); });
    done.wait_for(state_->options().request_timeout * 2);
  } else {
    state_->StopHeartbeats();
  }
  if (own_loop_) {
    own_loop_->work.reset();
    own_loop_->thread.join();
  }
}

core::Status AgentClient::Register() {
  return Await([this](Callback done) { RegisterAsync(std::move(done)); });
}

void AgentClient::RegisterAsync(Callback done) { state_->RegisterAsync(std::move(done)); }

void AgentClient::StartHeartbeats() { state_->StartHeartbeats(); }

void AgentClient::StopHeartbeats() { state_->StopHeartbeats(); }

core::Status AgentClient::ReportObservation(std::string_view peer_id, bool healthy) {
  return Await([&](Callback done) {
    ReportObservationAsync(std::string(peer_id), healthy, std::move(done));
  });
}

void AgentClient::ReportObservationAsync(std::string peer_id, bool healthy, Callback done) {
  state_->ObserveAsync(std::move(peer_id), healthy, std::move(done));
}

core::Status AgentClient::Deregister() {
  return Await([this](Callback done) { DeregisterAsync(std::move(done)); });
}

void AgentClient::DeregisterAsync(Callback done) { state_->DeregisterAsync(std::move(done)); }

const std::string& AgentClient::id() const { return state_->options().spec.id; }

bool AgentClient::registered() const { return state_->registered(); }

bool AgentClient::heartbeating() const { return state_->heartbeating(); }

AgentClientStats AgentClient::Stats() const { return state_->Stats(); }

}  // namespace agentmesh::client
