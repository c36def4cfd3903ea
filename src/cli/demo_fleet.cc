#include "cli/demo_fleet.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace agentmesh::cli {
namespace {

namespace asio = boost::asio;

// Counts callbacks of a batch of async operations; shared with them, so a late
// callback after a timed-out wait is harmless.
class Countdown {
 public:
  explicit Countdown(std::size_t n) : remaining_(n) {}

  void Done(const core::Status& status) {
    std::lock_guard lock(mu_);
    if (status.ok()) {
      ++ok_;
    } else if (first_error_.ok()) {
      first_error_ = status;
    }
    if (--remaining_ == 0) {
      cv_.notify_all();
    }
  }

  // Returns false if not every operation finished within `timeout`.
  bool Wait(core::Duration timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, core::SystemClock::Instance().Now() + timeout,
                          [&] { return remaining_ == 0; });
  }

  int ok() {
    std::lock_guard lock(mu_);
    return ok_;
  }
  core::Status first_error() {
    std::lock_guard lock(mu_);
    return first_error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t remaining_;
  int ok_ = 0;
  core::Status first_error_;
};

// Registrations of a whole fleet go to a node that just started.
constexpr auto kJoinTimeout = std::chrono::seconds(60);

}  // namespace

DemoFleet::DemoFleet(asio::any_io_executor executor, DemoFleetOptions options,
                     const config::Fleet& fleet)
    : options_(std::move(options)),
      strand_(asio::make_strand(executor)),
      rng_(options_.seed),
      timer_(strand_) {
  std::uint64_t index = 0;
  for (const config::FleetAgent& a : fleet.agents) {
    for (int replica = 1; replica <= a.replicas; ++replica) {
      DemoAgentOptions o;
      o.node_url = options_.node_url;
      o.spec.id = a.name + "-" + std::to_string(replica);
      o.spec.agent = a.name;
      o.spec.phase = a.phase;
      o.spec.domain = a.domain;
      o.spec.capabilities = a.capabilities;
      std::sort(o.spec.capabilities.begin(), o.spec.capabilities.end());
      o.spec.capabilities.erase(std::unique(o.spec.capabilities.begin(), o.spec.capabilities.end()),
                                o.spec.capabilities.end());
      o.spec.metadata["demo"] = "true";
      if (!a.role.empty()) {
        o.spec.metadata["role"] = a.role;
      }
      o.heartbeat_interval = options_.heartbeat_interval;
      o.slow_health_delay = options_.slow_health_delay;
      o.probe_timeout = options_.probe_timeout;
      o.seed = options_.seed + 0x9E3779B97F4A7C15ull * ++index;
      agents_.push_back({std::make_unique<DemoAgent>(executor, std::move(o))});
    }
  }
}

DemoFleet::~DemoFleet() { StopDirector(); }

core::Status DemoFleet::Start() {
  for (Slot& slot : agents_) {
    if (core::Status s = slot.agent->Open(); !s.ok()) {
      return s;
    }
  }
  auto joined = std::make_shared<Countdown>(agents_.size());
  for (Slot& slot : agents_) {
    slot.agent->Join([joined](core::Status s) { joined->Done(s); });
  }
  if (!joined->Wait(kJoinTimeout)) {
    return core::Status(core::StatusCode::kDeadlineExceeded, "registration_timeout",
                        "the node did not answer every registration in time");
  }
  if (core::Status s = joined->first_error(); !s.ok()) {
    return s;
  }
  director_started_ = true;
  asio::co_spawn(strand_, Direct(), [this](std::exception_ptr) { director_done_.set_value(); });
  return core::OkStatus();
}

int DemoFleet::Stop(core::Duration timeout) {
  StopDirector();
  auto left = std::make_shared<Countdown>(agents_.size());
  for (Slot& slot : agents_) {
    slot.agent->Leave([left](core::Status s) { left->Done(s); });
  }
  left->Wait(timeout);
  return left->ok();
}

void DemoFleet::StopDirector() {
  if (!director_started_) {
    return;
  }
  director_started_ = false;
  asio::post(strand_, [this] {
    stopped_ = true;
    timer_.cancel();
  });
  director_done_.get_future().wait();
}

DemoFaultCounts DemoFleet::Faults() const {
  DemoFaultCounts counts;
  for (const Slot& slot : agents_) {
    switch (slot.agent->fault()) {
      case DemoFault::kCrashed:
        ++counts.crashed;
        break;
      case DemoFault::kSlowHealth:
        ++counts.slow;
        break;
      case DemoFault::kFailingHealth:
        ++counts.failing;
        break;
      case DemoFault::kNone:
        break;
    }
  }
  return counts;
}

asio::awaitable<void> DemoFleet::Direct() {
  while (!stopped_) {
    timer_.expires_after(options_.tick);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopped_) {
      break;
    }
    Tick();
  }
}

std::uint64_t DemoFleet::TicksFor(core::Duration min, core::Duration max) {
  std::uniform_int_distribution<std::int64_t> pick(min.count(), max.count());
  return std::max<std::uint64_t>(1, core::Duration(pick(rng_)) / options_.tick);
}

void DemoFleet::Tick() {
  ++tick_;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const double fault_p = options_.fault_rate * core::ToSeconds(options_.tick);
  const double probe_p = core::ToSeconds(options_.tick) / core::ToSeconds(options_.probe_interval);
  const std::size_t n = agents_.size();
  for (std::size_t i = 0; i < n; ++i) {
    Slot& slot = agents_[i];
    const DemoFault fault = slot.agent->fault();
    if (fault != DemoFault::kNone) {
      if (tick_ >= slot.fault_until_tick) {
        if (fault == DemoFault::kCrashed) {
          slot.agent->Recover();  // retried next tick if the port is still taken
        } else {
          slot.agent->SetHealthFault(DemoFault::kNone);
        }
      }
      continue;
    }
    if (uniform(rng_) < fault_p) {
      switch (std::uniform_int_distribution<int>(0, 2)(rng_)) {
        case 0:
          slot.agent->Crash();
          slot.fault_until_tick = tick_ + TicksFor(options_.crash_min, options_.crash_max);
          break;
        case 1:
          slot.agent->SetHealthFault(DemoFault::kSlowHealth);
          slot.fault_until_tick =
              tick_ + TicksFor(options_.health_fault_min, options_.health_fault_max);
          break;
        default:
          slot.agent->SetHealthFault(DemoFault::kFailingHealth);
          slot.fault_until_tick =
              tick_ + TicksFor(options_.health_fault_min, options_.health_fault_max);
          break;
      }
      continue;
    }
    if (n > 1 && uniform(rng_) < probe_p) {
      std::size_t j = std::uniform_int_distribution<std::size_t>(0, n - 2)(rng_);
      if (j >= i) {
        ++j;
      }
      slot.agent->Probe(agents_[j].agent->id(), agents_[j].agent->address());
    }
  }
}

}  // namespace agentmesh::cli
