// failover_bench: leader failover after the leader's process is killed (issue 4: the new
// leader is elected within the session TTL plus the first backoff step). Used by
// bench/compare/failover.
//
//   agentmesh_failover_bench --node-binary build/agentmesh [--ttl 30s] [--election NAME]
//                            [--node-config POLICY]   (e.g. coordination on etcd)
//
// Starts a node in a temp dir, runs a leader in a child process (this binary with
// --leader: an SDK session with TTL --ttl renewed every TTL/3, and a campaign loop),
// waits until it is elected, starts a follower campaign loop in this process and waits
// until its campaign is queued on the node, then SIGKILLs the leader. Prints one line:
//   failover_ms=... ttl_ms=... bound_ms=... within_bound=yes|no
// where failover_ms runs from the kill to the follower's on_elected and bound_ms is the
// TTL plus the first backoff step with its largest jitter. Exit code 0 when within the
// bound, 1 when not, 2 on setup errors.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agentmesh/client/coord_client.h"
#include "agentmesh/client/http_client.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/duration.h"

#include "testing/node_process.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using agentmesh::client::CoordClient;
using agentmesh::client::CoordClientOptions;
using agentmesh::client::Election;
using agentmesh::client::ElectionOptions;
using agentmesh::client::SessionOptions;
using agentmesh::core::Duration;
namespace core = agentmesh::core;

constexpr auto kElectedTimeout = std::chrono::seconds(30);
constexpr auto kQueuedTimeout = std::chrono::seconds(10);
constexpr auto kPollEvery = std::chrono::milliseconds(20);
constexpr std::string_view kElectedLine = "elected term=";

struct Args {
  std::string node_binary = "build/agentmesh";
  Duration ttl = std::chrono::seconds(30);
  std::string election = "bench/failover";
  bool leader = false;
  std::string url;  // leader mode: the node
  std::string node_config;  // policy file for the node, e.g. one selecting etcd
};

long long Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::optional<Args> ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--leader") {
      args.leader = true;
      continue;
    }
    if (i + 1 >= argc) {
      return std::nullopt;
    }
    const std::string value = argv[++i];
    if (flag == "--node-binary") {
      args.node_binary = value;
    } else if (flag == "--election") {
      args.election = value;
    } else if (flag == "--node-config") {
      args.node_config = value;
    } else if (flag == "--url") {
      args.url = value;
    } else if (flag == "--ttl") {
      auto ttl = core::ParseDuration(value);
      if (!ttl || *ttl < std::chrono::seconds(1)) {
        return std::nullopt;
      }
      args.ttl = *ttl;
    } else {
      return std::nullopt;
    }
  }
  return args;
}

SessionOptions BenchSession(Duration ttl) {
  return SessionOptions{.ttl = ttl, .renew_interval = ttl / 3};
}

// Leader mode: campaign until elected, print the elected line, then hold until killed.
int RunLeader(const Args& args) {
  CoordClient client(CoordClientOptions{.node_url = args.url, .agent = "failover-leader"});
  auto session = client.CreateSession(BenchSession(args.ttl));
  if (!session) {
    std::fprintf(stderr, "leader: %s\n", session.error().ToString().c_str());
    return 2;
  }
  auto election =
      Election::Campaign(*session, args.election, "leader", {.on_elected = [](std::uint64_t term) {
        std::printf("%s%llu\n", kElectedLine.data(), static_cast<unsigned long long>(term));
        std::fflush(stdout);
      }});
  if (!election) {
    std::fprintf(stderr, "leader: %s\n", election.error().ToString().c_str());
    return 2;
  }
  while (true) {
    ::pause();
  }
}

// Forks this binary in leader mode; its stdout comes back through `out_fd`.
pid_t StartLeader(const Args& args, const std::string& url, int* out_fd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return -1;
  }
  const std::string ttl = core::FormatDuration(args.ttl);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the bench
    ::dup2(fds[1], STDOUT_FILENO);
    ::execl("/proc/self/exe", "failover_bench", "--leader", "--url", url.c_str(), "--ttl",
            ttl.c_str(), "--election", args.election.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  *out_fd = fds[0];
  return pid;
}

// Reads `fd` until a line starts with the elected prefix; false on EOF or timeout.
bool WaitElectedLine(int fd) {
  const core::TimePoint deadline = core::SystemClock::Instance().Now() + kElectedTimeout;
  std::string line;
  while (true) {
    const long long left = Millis(deadline - core::SystemClock::Instance().Now());
    if (left <= 0) {
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) {
      continue;
    }
    char c = 0;
    if (::read(fd, &c, 1) != 1) {
      return false;
    }
    if (c != '\n') {
      line += c;
    } else if (line.starts_with(kElectedLine)) {
      return true;
    } else {
      line.clear();
    }
  }
}

// Waits until the node shows a queued candidate for the election (the follower's
// long-poll campaign has arrived).
bool WaitCandidateQueued(const std::string& url, const std::string& election) {
  std::string path = "/v1/elections/";
  for (const char c : election) {
    path += c == '/' ? std::string("%2F") : std::string(1, c);
  }
  const core::TimePoint deadline = core::SystemClock::Instance().Now() + kQueuedTimeout;
  while (core::SystemClock::Instance().Now() < deadline) {
    auto r = agentmesh::client::FetchBlocking(url, agentmesh::client::HttpRequest("GET", path),
                                              std::chrono::seconds(2));
    if (r && r->status == 200 && r->body.find("\"candidates\":0") == std::string::npos) {
      return true;
    }
    std::this_thread::sleep_for(kPollEvery);
  }
  return false;
}

int RunBench(const Args& args) {
  agentmesh::testing::TempDir dir;
  agentmesh::testing::NodeProcess node;
  std::vector<std::string> serve = {"serve",           "--listen",    "127.0.0.1:0", "--data-dir",
                                    dir.Sub("data"), "--log-level", "warn"};
  if (!args.node_config.empty()) {
    serve.push_back("--config");
    serve.push_back(args.node_config);
  }
  const std::string started = node.Start(args.node_binary, serve, dir.Sub("node.log"));
  if (!started.empty()) {
    std::fprintf(stderr, "failover_bench: node: %s\n", started.c_str());
    return 2;
  }
  const std::string url = node.base_url();
  int leader_out = -1;
  const pid_t leader = StartLeader(args, url, &leader_out);
  if (leader < 0 || !WaitElectedLine(leader_out)) {
    std::fprintf(stderr, "failover_bench: the leader was not elected within %llds\n",
                 static_cast<long long>(kElectedTimeout.count()));
    if (leader > 0) {
      ::kill(leader, SIGKILL);
      ::waitpid(leader, nullptr, 0);
    }
    return 2;
  }

  CoordClient client(CoordClientOptions{.node_url = url, .agent = "failover-follower"});
  auto session = client.CreateSession(BenchSession(args.ttl));
  if (!session) {
    std::fprintf(stderr, "failover_bench: %s\n", session.error().ToString().c_str());
    return 2;
  }
  auto elected = std::make_shared<std::promise<core::TimePoint>>();
  auto fired = std::make_shared<std::atomic<bool>>(false);
  std::future<core::TimePoint> elected_at = elected->get_future();
  const ElectionOptions options;
  auto election =
      Election::Campaign(*session, args.election, "follower",
                         {.on_elected =
                              [elected, fired](std::uint64_t) {
                                if (!fired->exchange(true)) {
                                  elected->set_value(core::SystemClock::Instance().Now());
                                }
                              }},
                         options);
  if (!election || !WaitCandidateQueued(url, args.election)) {
    std::fprintf(stderr, "failover_bench: the follower's campaign did not reach the node\n");
    return 2;
  }

  const core::TimePoint killed_at = core::SystemClock::Instance().Now();
  ::kill(leader, SIGKILL);
  ::waitpid(leader, nullptr, 0);
  ::close(leader_out);

  const Duration bound =
      args.ttl + options.backoff.Step(1) +
      std::chrono::duration_cast<Duration>(options.backoff.Step(1) * options.backoff.jitter);
  if (elected_at.wait_for(bound * 2) != std::future_status::ready) {
    std::printf("failover_ms=timeout ttl_ms=%lld bound_ms=%lld within_bound=no\n", Millis(args.ttl),
                Millis(bound));
    return 1;
  }
  const Duration failover = elected_at.get() - killed_at;
  std::printf("failover_ms=%lld ttl_ms=%lld bound_ms=%lld within_bound=%s\n", Millis(failover),
              Millis(args.ttl), Millis(bound), failover <= bound ? "yes" : "no");
  std::fflush(stdout);
  return failover <= bound ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Args> args = ParseArgs(argc, argv);
  if (!args || (args->leader && args->url.empty())) {
    std::fprintf(stderr,
                 "usage: %s --node-binary PATH [--ttl 30s] [--election NAME] [--node-config FILE]\n"
                 "       %s --leader --url URL [--ttl 30s] [--election NAME]\n",
                 argv[0], argv[0]);
    return 2;
  }
  return args->leader ? RunLeader(*args) : RunBench(*args);
}
