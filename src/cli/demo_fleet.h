// DemoFleet: every agent instance of `agentmesh demo` plus the director that injects
// faults and makes agents probe each other.
//
// Instances are named <agent>-1, <agent>-2, ... per replicas. Each director tick
// (1 s) ends faults that are due, starts new ones at `fault_rate` per agent per second
// (crash and come back, slow health, failing health) and lets each live agent probe a
// random peer with probability tick/probe_interval, reporting what it saw, so
// recoveries get their confirmations. All random choices come from one generator
// seeded with `seed`, used on the director's strand only. Owned by the demo command;
// Start/Stop from one thread that does not run the executor.
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "agentmesh/config/fleet.h"
#include "agentmesh/core/status.h"

#include "cli/demo_agent.h"

namespace agentmesh::cli {

struct DemoFleetOptions {
  // Base URL of the node.
  std::string node_url;
  // Probability per agent per second that a fault starts.
  double fault_rate = 0.01;
  // Seeds every random choice of the demo.
  std::uint64_t seed = 42;
  // Director period.
  core::Duration tick = std::chrono::seconds(1);
  // Mean time between two probes by one agent.
  core::Duration probe_interval = std::chrono::seconds(3);
  // A crashed agent comes back after a uniform time in [crash_min, crash_max].
  core::Duration crash_min = std::chrono::seconds(10);
  core::Duration crash_max = std::chrono::seconds(30);
  // A slow or failing health endpoint recovers after [health_fault_min, health_fault_max].
  core::Duration health_fault_min = std::chrono::seconds(5);
  core::Duration health_fault_max = std::chrono::seconds(15);
  // Passed to every agent.
  core::Duration heartbeat_interval = std::chrono::seconds(1);
  core::Duration slow_health_delay = std::chrono::seconds(1);
  core::Duration probe_timeout = std::chrono::milliseconds(500);
};

struct DemoFaultCounts {
  int crashed = 0;
  int slow = 0;
  int failing = 0;
};

class DemoFleet {
 public:
  DemoFleet(boost::asio::any_io_executor executor, DemoFleetOptions options,
            const config::Fleet& fleet);
  ~DemoFleet();
  DemoFleet(const DemoFleet&) = delete;
  DemoFleet& operator=(const DemoFleet&) = delete;

  // Opens every endpoint, registers every instance (concurrently), starts heartbeats
  // and the director. Errors: the first endpoint or registration failure.
  core::Status Start();
  // Stops the director, deregisters every instance (waits up to `timeout`) and closes
  // the endpoints. Returns how many deregistrations succeeded.
  int Stop(core::Duration timeout);

  std::size_t size() const { return agents_.size(); }
  DemoFaultCounts Faults() const;

 private:
  struct Slot {
    std::unique_ptr<DemoAgent> agent;
    std::uint64_t fault_until_tick = 0;  // director strand only
  };

  // Ends the director and waits until it did; no-op when it is not running.
  void StopDirector();
  boost::asio::awaitable<void> Direct();
  void Tick();
  std::uint64_t TicksFor(core::Duration min, core::Duration max);

  DemoFleetOptions options_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::vector<Slot> agents_;
  // Director strand only.
  std::mt19937_64 rng_;
  std::uint64_t tick_ = 0;
  bool stopped_ = false;
  boost::asio::steady_timer timer_;
  // Caller thread only.
  bool director_started_ = false;
  std::promise<void> director_done_;
};

}  // namespace agentmesh::cli
