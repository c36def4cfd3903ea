// `agentmesh demo`: a node plus the SutazAI fleet of simulated agents, with faults.
//
// Spawns `agentmesh serve` as a child with a short-timings policy in a temp dir, runs
// every fleet instance as a real HTTP endpoint driven by the AgentClient SDK on one
// shared io_context, injects faults, prints a summary line every --interval, and on
// --duration or Ctrl-C/SIGTERM deregisters the agents, stops the node and cleans up.
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "agentmesh/client/http_client.h"
#include "agentmesh/config/fleet.h"
#include "agentmesh/core/duration.h"

#include "cli/commands.h"
#include "cli/demo_fleet.h"
#include "cli/demo_node.h"
#include "cli/demo_summary.h"
#include <signal.h>
#include <stdlib.h>

namespace agentmesh::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;
constexpr int kIoThreads = 2;
constexpr std::string_view kDefaultFleet = "examples/sutazai/fleet.yaml";
constexpr auto kHealthTimeout = std::chrono::seconds(2);
constexpr auto kLeaveTimeout = std::chrono::seconds(10);
constexpr auto kNodeStopGrace = std::chrono::seconds(10);
constexpr int kLogTailLines = 20;

// Shortened timings so that faults are detected and recoveries confirmed in seconds.
constexpr std::string_view kDemoPolicy =
    R"(# Written by `agentmesh demo`: the rules' values, with faster timings.
health:
  check_interval: 2s
  check_timeout: 500ms
failure_detection:
  heartbeat_interval: 1s
)";

struct DemoFlags {
  std::string listen = "127.0.0.1:7700";
  std::string fleet;
  std::string duration = "0";
  std::string interval = "5s";
  double fault_rate = 0.01;
  std::uint64_t seed = 42;
};

// The stop request from a signal, the duration or a failure, and a way to wait for it.
struct StopFlag {
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable cv;

  void Set() {
    {
      std::lock_guard lock(mu);
      stop.store(true);
    }
    cv.notify_all();
  }
  // Returns true if stop was requested before `until`.
  bool WaitUntil(core::TimePoint until) {
    std::unique_lock lock(mu);
    return cv.wait_until(lock, until, [&] { return stop.load(); });
  }
};

// Returns the fleet file to use: the flag, else the default relative to the cwd,
// else the one in the source tree.
std::string ResolveFleetPath(const std::string& flag) {
  if (!flag.empty()) {
    return flag;
  }
#ifdef AGENTMESH_SOURCE_DIR
  if (!fs::exists(kDefaultFleet)) {
    return std::string(AGENTMESH_SOURCE_DIR) + "/" + std::string(kDefaultFleet);
  }
#endif
  return std::string(kDefaultFleet);
}

core::Result<fs::path> MakeTempDir() {
  std::string pattern = (fs::temp_directory_path() / "agentmesh-demo-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return core::Err(core::Internal(
        "temp_dir_failed", "cannot create a temp dir under " + fs::temp_directory_path().string()));
  }
  return fs::path(pattern);
}

void PrintBanner(const std::string& url, const DemoNode& node, std::size_t instances,
                 const std::string& fleet_path, const DemoFlags& flags) {
  std::cout << "agentmesh demo: node " << url << " (pid " << node.pid() << "), " << instances
            << " agent instances from " << fleet_path << ", fault rate " << flags.fault_rate
            << "/agent/s, seed " << flags.seed << "\n"
            << "  open  " << url << "/health\n"
            << "        " << url << "/v1/agents\n"
            << "        " << url << "/metrics\n"
            << "        " << url << "/debug/health\n"
            << "  or    agentmesh agents --addr " << url << "\n"
            << (flags.duration == "0" ? std::string("Press Ctrl-C to stop.")
                                      : "Stopping after " + flags.duration + " (or Ctrl-C).")
            << std::endl;
}

// Prints a summary every `interval` until stop is requested, `duration` (if non-zero)
// has passed, or the node dies. Returns the exit code.
int Watch(DemoNode& node, DemoFleet& fleet, StopFlag& stop, core::Duration interval,
          core::Duration duration, const fs::path& log_path) {
  const core::TimePoint start = core::SystemClock::Instance().Now();
  const bool bounded = duration > core::Duration::zero();
  const core::TimePoint end = start + duration;
  core::TimePoint next = start + interval;
  for (;;) {
    const core::TimePoint wake = bounded ? std::min(next, end) : next;
    if (stop.WaitUntil(wake)) {
      return 0;
    }
    if (!node.Running()) {
      std::cerr << "agentmesh demo: the node exited unexpectedly (" << node.Stop({})
                << "); its last log lines:\n"
                << TailOfFile(log_path.string(), kLogTailLines);
      return kExitFailure;
    }
    const core::TimePoint now = core::SystemClock::Instance().Now();
    if (now >= next) {
      client::HttpRequest req("GET", "/health");
      auto health = client::FetchBlocking(node.url(), req, kHealthTimeout);
      std::cout << FormatDemoSummary(now - start, health, fleet.Faults()) << std::endl;
      next += interval;
    }
    if (bounded && now >= end) {
      return 0;
    }
  }
}

int RunDemo(const DemoFlags& flags) {
  auto interval = core::ParseDuration(flags.interval);
  auto duration = core::ParseDuration(flags.duration);
  if (!interval || *interval <= core::Duration::zero() || !duration) {
    std::cerr << "agentmesh demo: --interval and --duration take durations like 5s or 1m "
                 "(--interval must be above 0)"
              << std::endl;
    return kExitUsage;
  }
  const std::string fleet_path = ResolveFleetPath(flags.fleet);
  auto fleet_file = config::LoadFleetFile(fleet_path);
  if (!fleet_file) {
    std::cerr << "agentmesh demo: " << fleet_file.error().message() << std::endl;
    return kExitUsage;
  }
  auto temp_dir = MakeTempDir();
  if (!temp_dir) {
    std::cerr << "agentmesh demo: " << temp_dir.error().message() << std::endl;
    return kExitFailure;
  }
  const fs::path policy_path = *temp_dir / "demo-policy.yaml";
  const fs::path log_path = *temp_dir / "node.log";
  std::ofstream(policy_path) << kDemoPolicy;

  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  StopFlag stop;
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&stop](const boost::system::error_code& ec, int) {
    if (!ec) {
      stop.Set();
    }
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < kIoThreads; ++i) {
    threads.emplace_back([&ioc] { ioc.run(); });
  }

  int code = 0;
  DemoNodeOptions node_options;
  node_options.args = {
      "serve",    "--listen",          flags.listen, "--data-dir", (*temp_dir / "data").string(),
      "--config", policy_path.string()};
  node_options.log_path = log_path.string();
  auto node = DemoNode::Start(node_options, [&stop] { return stop.stop.load(); });
  if (!node) {
    if (node.error().code() != core::StatusCode::kCancelled) {
      std::cerr << "agentmesh demo: cannot start the node: " << node.error().message()
                << "\nits last log lines:\n"
                << TailOfFile(log_path.string(), kLogTailLines);
      code = kExitFailure;
    }
  } else {
    const std::string url = (*node)->url();
    DemoFleetOptions fleet_options;
    fleet_options.node_url = url;
    fleet_options.fault_rate = flags.fault_rate;
    fleet_options.seed = flags.seed;
    auto fleet = std::make_unique<DemoFleet>(ioc.get_executor(), fleet_options, *fleet_file);
    PrintBanner(url, **node, fleet->size(), fleet_path, flags);
    if (core::Status started = fleet->Start(); !started.ok()) {
      std::cerr << "agentmesh demo: cannot start the fleet: " << started.ToString() << std::endl;
      code = kExitFailure;
    } else {
      std::cout << "all " << fleet->size() << " agents registered and heartbeating" << std::endl;
      code = Watch(**node, *fleet, stop, *interval, *duration, log_path);
    }
    std::cout << "stopping: deregistering " << fleet->size() << " agents..." << std::endl;
    const int left = fleet->Stop(kLeaveTimeout);
    fleet.reset();
    const std::string node_exit = (*node)->Stop(kNodeStopGrace);
    std::cout << "demo stopped: " << left << " agents deregistered, node " << node_exit
              << std::endl;
  }
  signals.cancel();
  work.reset();
  ioc.stop();
  for (auto& t : threads) {
    t.join();
  }
  std::error_code ignored;
  fs::remove_all(*temp_dir, ignored);
  return code;
}

}  // namespace

void AddDemoCommand(CLI::App& app) {
  auto flags = std::make_shared<DemoFlags>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "Run a node plus the SutazAI fleet as simulated agents, with injected faults");
  cmd->add_option("--listen", flags->listen, "HOST:PORT for the node (port 0 picks a free port)")
      ->capture_default_str();
  cmd->add_option("--fleet", flags->fleet,
                  "Fleet file (default examples/sutazai/fleet.yaml, from the cwd or the source "
                  "tree)");
  cmd->add_option("--duration", flags->duration, "Stop after this long, e.g. 60s; 0 = until Ctrl-C")
      ->capture_default_str();
  cmd->add_option("--interval", flags->interval, "Time between summary lines")
      ->capture_default_str();
  cmd->add_option("--fault-rate", flags->fault_rate, "Faults per agent per second")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "Seed of every random choice")->capture_default_str();
  cmd->callback([flags] {
    if (const int code = RunDemo(*flags); code != 0) {
      throw CLI::RuntimeError(code);
    }
  });
}

}  // namespace agentmesh::cli
