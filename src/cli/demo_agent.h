// DemoAgent: one simulated agent instance of `agentmesh demo`.
//
// A real HTTP endpoint on 127.0.0.1 (GET /health, GET|POST /work) driven by an
// AgentClient that registers it, heartbeats with wandering load samples and reports
// what it sees of its peers. Faults make it misbehave the way real agents do: a crash
// closes the endpoint and silences the heartbeats until Recover(); a slow or failing
// health endpoint answers late or with 500. Owned by DemoFleet.
// Thread-safety: every method may be called from any thread; the blocking ones
// (Open, Shutdown) not from a thread that runs the executor.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "agentmesh/client/agent_client.h"
#include "agentmesh/core/status.h"
#include "agentmesh/health/types.h"

namespace agentmesh::cli {

enum class DemoFault : std::uint8_t { kNone, kCrashed, kSlowHealth, kFailingHealth };

struct DemoAgentOptions {
  // Base URL of the node.
  std::string node_url;
  // The instance; its address is filled in by Open().
  health::InstanceSpec spec;
  // Heartbeat period of the agent's AgentClient.
  core::Duration heartbeat_interval = std::chrono::seconds(1);
  // How late a slow health endpoint answers (above the node's check timeout).
  core::Duration slow_health_delay = std::chrono::seconds(1);
  // Deadline of a probe of a peer's /health.
  core::Duration probe_timeout = std::chrono::milliseconds(500);
  // Seeds the agent's load random walk.
  std::uint64_t seed = 1;
};

class DemoAgent {
 public:
  DemoAgent(boost::asio::any_io_executor executor, DemoAgentOptions options);
  ~DemoAgent();
  DemoAgent(const DemoAgent&) = delete;
  DemoAgent& operator=(const DemoAgent&) = delete;

  // Binds the endpoint on 127.0.0.1:0 and starts serving.
  // Errors: kUnavailable "listen_failed".
  core::Status Open();
  // Registers (async) and then heartbeats; `done` gets the registration result.
  void Join(client::AgentClient::Callback done);
  // Closes the endpoint and stops heartbeats, without deregistering.
  void Crash();
  // Reopens the endpoint on the same port, registers again and resumes heartbeats.
  // If the port cannot be bound again the agent stays crashed (fault() tells).
  void Recover();
  // Sets how /health behaves: kNone, kSlowHealth or kFailingHealth.
  void SetHealthFault(DemoFault fault);
  DemoFault fault() const;
  // Probes `peer_address`'s /health and reports the verdict on `peer_id` to the node.
  void Probe(std::string peer_id, std::string peer_address);
  // Deregisters (async, `done` gets the result) and closes the endpoint.
  void Leave(client::AgentClient::Callback done);

  const std::string& id() const { return options_.spec.id; }
  const std::string& address() const { return options_.spec.address; }
  client::AgentClientStats Stats() const { return client_->Stats(); }

 private:
  class Endpoint;

  client::AgentClientOptions ClientOptions() const;

  DemoAgentOptions options_;
  std::shared_ptr<Endpoint> endpoint_;
  // Shared so callbacks on the executor can hold it weakly.
  std::shared_ptr<client::AgentClient> client_;
};

}  // namespace agentmesh::cli
