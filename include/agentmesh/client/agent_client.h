// AgentClient: the SDK an agent links to take part in the mesh.
//
// It registers the agent's instance with a node, keeps a heartbeat loop (with load
// samples) running on an executor over one keep-alive connection, reports what the
// agent saw of its peers, and deregisters on shutdown. When the node answers a
// heartbeat with 404 unknown_instance (it lost the registration) the loop registers
// again. The application owns the AgentClient; it runs on the executor it is given or,
// without one, on its own io_context and thread.
//
// Thread-safety: every method may be called from any thread. The blocking methods
// (Register, ReportObservation, Deregister, the destructor) must not be called from a
// thread that runs the executor; use the *Async forms there.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"
#include "agentmesh/health/types.h"

namespace agentmesh::client {

struct AgentClientOptions {
  // Base URL of the node the agent registers with.
  std::string node_url = "http://127.0.0.1:7700";
  // What the instance says about itself; spec.id names it in the mesh.
  health::InstanceSpec spec;
  // Time between heartbeats (rule: agents heartbeat every 5 s).
  core::Duration heartbeat_interval = std::chrono::seconds(5);
  // Deadline of each HTTP request to the node, connect included.
  core::Duration request_timeout = std::chrono::seconds(2);
  // Optional load sampler, called on the executor before each heartbeat; cpu and
  // memory are clamped to [0, 1], queue_depth to >= 0. Empty: heartbeats carry no load.
  std::function<health::LoadSample()> load;
  // Register() gives up after this many attempts that got no usable answer.
  int register_attempts = 8;
  // Delay before the first registration retry; doubles up to register_backoff_max.
  core::Duration register_backoff = std::chrono::milliseconds(100);
  core::Duration register_backoff_max = std::chrono::seconds(2);
};

// Returns ok when the options can work. Errors: kInvalidArgument with reason
// "invalid_url", "invalid_id", "invalid_agent", "phase_out_of_range" or "invalid_option".
core::Status Validate(const AgentClientOptions& options);

struct AgentClientStats {
  std::uint64_t registrations = 0;         // successful registrations, re-registrations included
  std::uint64_t reregistrations = 0;       // registrations triggered by 404 unknown_instance
  std::uint64_t heartbeats_sent = 0;       // heartbeats the node accepted
  std::uint64_t heartbeats_failed = 0;     // heartbeats that failed or were rejected
  std::uint64_t consecutive_failures = 0;  // failed heartbeats since the last accepted one
  std::uint64_t observations_sent = 0;     // peer observations the node accepted
  std::string last_status;                 // the state the node reported on the last heartbeat
};

class AgentClient {
 public:
  using Callback = std::function<void(core::Status)>;

  // Runs on its own io_context and thread.
  explicit AgentClient(AgentClientOptions options);
  // Runs on `executor`, which must outlive the client's pending work.
  AgentClient(AgentClientOptions options, boost::asio::any_io_executor executor);
  // Stops the heartbeat loop and deregisters if still registered (bounded by
  // request_timeout).
  ~AgentClient();
  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  // Registers the instance, retrying with backoff while the node is unreachable or
  // answers 5xx/429. Errors: kInvalidArgument for bad options or a 400 from the node;
  // the last transport or node error once register_attempts are used up.
  core::Status Register();
  void RegisterAsync(Callback done);

  // Starts the heartbeat loop (first heartbeat immediately); no-op when running.
  void StartHeartbeats();
  // Stops the heartbeat loop; returns at once, an in-flight heartbeat is abandoned.
  void StopHeartbeats();

  // Tells the node whether this agent found peer `peer_id` healthy.
  // Errors: kNotFound "unknown_instance", kUnavailable, kDeadlineExceeded.
  core::Status ReportObservation(std::string_view peer_id, bool healthy);
  void ReportObservationAsync(std::string peer_id, bool healthy, Callback done = {});

  // Stops heartbeats and removes the instance from the mesh (state "left").
  // Errors: kNotFound "unknown_instance" (the registration is forgotten anyway),
  // kUnavailable, kDeadlineExceeded.
  core::Status Deregister();
  void DeregisterAsync(Callback done = {});

  const std::string& id() const;
  bool registered() const;
  bool heartbeating() const;
  AgentClientStats Stats() const;

 private:
  class State;
  struct OwnLoop;
  // Declared first so it is destroyed last, after the state that uses its executor.
  std::unique_ptr<OwnLoop> own_loop_;
  std::shared_ptr<State> state_;
};

}  // namespace agentmesh::client
