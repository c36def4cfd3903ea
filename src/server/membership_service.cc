#include "agentmesh/server/membership_service.h"

#include <atomic>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agentmesh/core/log.h"

namespace agentmesh::server {
namespace {

namespace asio = boost::asio;
using health::MembershipStore;

// Returns an awaitable that, when awaited, calls `submit(done)` and then suspends the
// awaiting coroutine until `done` runs (on any thread); the result is delivered on the
// coroutine's own executor. `submit` is moved into the initiation because the
// initiation runs only at the co_await, after this function has returned.
template <typename Submit>
asio::awaitable<core::Status> AwaitDone(Submit submit) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(core::Status)>(
      [submit = std::move(submit)](auto handler) mutable {
        using Handler = decltype(handler);
        auto shared = std::make_shared<Handler>(std::move(handler));
        submit(MembershipStore::Done([shared](core::Status status) {
          auto ex = asio::get_associated_executor(*shared);
          asio::post(
              ex, [shared, status = std::move(status)]() mutable { (*shared)(std::move(status)); });
        }));
      },
      asio::use_awaitable);
}

void WarnOnFailure(const char* what, const std::string& id, const core::Status& status) {
  if (!status.ok()) {
    core::log::Warn("store write failed",
                    {{"op", what}, {"instance", id}, {"error", status.ToString()}});
  }
}

}  // namespace

struct MembershipService::Metrics {
  explicit Metrics(observe::Registry& r)
      : heartbeats(r.AddCounter("agentmesh_health_heartbeats_total", "Heartbeats received.")
                       .WithLabels({})),
        transitions(r.AddCounter("agentmesh_health_transitions_total",
                                 "Health state transitions, by old and new state.",
                                 {"from", "to"})),
        checks(r.AddCounter("agentmesh_health_checks_total",
                            "Health checks made by this node, by result.", {"result"})),
        checks_ok(checks.WithLabels({"ok"})),
        checks_failed(checks.WithLabels({"failed"})) {}

  observe::Counter& heartbeats;
  observe::Family<observe::Counter>& transitions;
  observe::Family<observe::Counter>& checks;
  observe::Counter& checks_ok;
  observe::Counter& checks_failed;
};

struct MembershipService::Ticker {
  explicit Ticker(asio::any_io_executor ex) : timer(asio::make_strand(ex)) {}
  asio::steady_timer timer;
  std::atomic<bool> stopped{false};
};

MembershipService::MembershipService(health::MembershipOptions options, std::string node_id,
                                     health::MembershipStore& store, core::Clock& clock,
                                     core::EventSink* sink, observe::Registry& metrics)
    : node_id_(std::move(node_id)),
      observer_("node:" + node_id_),
      store_(store),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(metrics)),
      membership_(std::move(options), sink) {
  metrics.AddCallback(
      "agentmesh_agents", "Agent instances by phase and health state.", observe::MetricType::kGauge,
      {"phase", "state"}, [this] {
        const health::HealthSummary s = Summary();
        std::vector<observe::Sample> out;
        for (int p = 0; p < 3; ++p) {
          for (health::HealthState st : health::kAllHealthStates) {
            out.push_back({{std::to_string(p + 1), std::string(health::HealthStateName(st))},
                           double(s.counts[p][static_cast<int>(st)])});
          }
        }
        return out;
      });
  metrics.AddCallback("agentmesh_health_phi", "Phi accrual suspicion level per instance.",
                      observe::MetricType::kGauge, {"instance"}, [this] {
                        std::vector<observe::Sample> out;
                        for (const auto& v : List({})) {
                          out.push_back({{v.spec.id}, v.phi});
                        }
                        return out;
                      });
}

MembershipService::~MembershipService() { StopTicker(); }

core::Status MembershipService::Restore() {
  auto stored = store_.LoadAll();
  if (!stored) {
    return stored.error();
  }
  std::lock_guard lock(mu_);
  const core::TimePoint now = clock_.Now();
  for (const auto& s : *stored) {
    membership_.Restore(s.spec, s.state, s.registered_at, now);
  }
  membership_.TakeTransitions();
  return core::OkStatus();
}

void MembershipService::PersistTransitions(const std::vector<health::Transition>& transitions) {
  if (!transitions.empty()) {
    version_.fetch_add(1, std::memory_order_release);
  }
  for (const auto& t : transitions) {
    metrics_->transitions
        .WithLabels({health::HealthStateName(t.from), health::HealthStateName(t.to)})
        .Inc();
    if (t.to != health::HealthState::kLeft) {
      store_.PutState(t.instance_id, t.to,
                      [id = t.instance_id](core::Status s) { WarnOnFailure("put_state", id, s); });
    }
  }
}

void MembershipService::LogTransitions(const std::vector<health::Transition>& transitions) const {
  for (const auto& t : transitions) {
    core::log::Info("health transition", {{"instance", t.instance_id},
                                          {"from", health::HealthStateName(t.from)},
                                          {"to", health::HealthStateName(t.to)},
                                          {"reason", t.reason}});
  }
}

asio::awaitable<core::Result<RegisterReply>> MembershipService::Register(
    health::InstanceSpec spec) {
  RegisterReply reply;
  std::vector<health::Transition> transitions;
  core::Status status = co_await AwaitDone([&](MembershipStore::Done done) {
    std::lock_guard lock(mu_);
    const core::TimePoint now = clock_.Now();
    reply.outcome = membership_.Register(spec, now, clock_.WallNow());
    version_.fetch_add(1, std::memory_order_release);
    reply.view = *membership_.Get(spec.id, now);
    store_.Put(health::StoredInstance{reply.view.spec, reply.view.state, reply.view.registered_at},
               std::move(done));
    transitions = membership_.TakeTransitions();
    PersistTransitions(transitions);
  });
  LogTransitions(transitions);
  if (!status.ok()) {
    co_return core::Err(std::move(status));
  }
  co_return reply;
}

asio::awaitable<core::Result<health::InstanceView>> MembershipService::Deregister(std::string id) {
  health::InstanceView view;
  std::vector<health::Transition> transitions;
  core::Status status = co_await AwaitDone([&](MembershipStore::Done done) {
    std::lock_guard lock(mu_);
    const core::TimePoint now = clock_.Now();
    core::Status st = membership_.Deregister(id, now, clock_.WallNow());
    if (!st.ok()) {
      done(std::move(st));
      return;
    }
    view = *membership_.Get(id, now);
    store_.Remove(id, std::move(done));
    transitions = membership_.TakeTransitions();
    PersistTransitions(transitions);
  });
  LogTransitions(transitions);
  if (!status.ok()) {
    co_return core::Err(std::move(status));
  }
  co_return view;
}

core::Result<health::HealthState> MembershipService::Heartbeat(const std::string& id,
                                                               const health::LoadSample& load) {
  std::vector<health::Transition> transitions;
  health::HealthState state;
  {
    std::lock_guard lock(mu_);
    const core::TimePoint now = clock_.Now();
    core::Status st = membership_.Heartbeat(id, load, now, clock_.WallNow());
    if (!st.ok()) {
      return core::Err(std::move(st));
    }
    state = *membership_.StateOf(id);
    transitions = membership_.TakeTransitions();
    PersistTransitions(transitions);
  }
  metrics_->heartbeats.Inc();
  LogTransitions(transitions);
  return state;
}

core::Result<health::HealthState> MembershipService::Observe(const std::string& id,
                                                             const std::string& observer,
                                                             bool healthy) {
  std::vector<health::Transition> transitions;
  health::HealthState state;
  {
    std::lock_guard lock(mu_);
    const core::TimePoint now = clock_.Now();
    core::Status st = membership_.RecordObservation(id, observer, healthy, now, clock_.WallNow());
    if (!st.ok()) {
      return core::Err(std::move(st));
    }
    state = *membership_.StateOf(id);
    transitions = membership_.TakeTransitions();
    PersistTransitions(transitions);
  }
  LogTransitions(transitions);
  return state;
}

core::Status MembershipService::RecordCheck(const std::string& id, bool ok) {
  (ok ? metrics_->checks_ok : metrics_->checks_failed).Inc();
  std::vector<health::Transition> transitions;
  core::Status st;
  {
    std::lock_guard lock(mu_);
    st = membership_.RecordCheck(id, ok, observer_, clock_.Now(), clock_.WallNow());
    transitions = membership_.TakeTransitions();
    PersistTransitions(transitions);
  }
  LogTransitions(transitions);
  return st;
}

void MembershipService::Tick() {
  std::vector<health::Transition> transitions;
  {
    std::lock_guard lock(mu_);
    membership_.Tick(clock_.Now(), clock_.WallNow());
    transitions = membership_.TakeTransitions();
    PersistTransitions(transitions);
  }
  LogTransitions(transitions);
}

std::optional<health::InstanceView> MembershipService::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  return membership_.Get(id, clock_.Now());
}

std::vector<health::InstanceView> MembershipService::List(const health::ListFilter& filter) const {
  std::lock_guard lock(mu_);
  return membership_.List(filter, clock_.Now());
}

std::vector<health::Transition> MembershipService::History(const std::string& id) const {
  std::lock_guard lock(mu_);
  return membership_.History(id);
}

health::HealthSummary MembershipService::Summary() const {
  std::lock_guard lock(mu_);
  return membership_.Summary();
}

std::vector<std::pair<std::string, std::string>> MembershipService::CheckTargets() const {
  std::lock_guard lock(mu_);
  return membership_.CheckTargets();
}

void MembershipService::StartTicker(asio::any_io_executor ex, core::Duration interval) {
  StopTicker();
  auto ticker = std::make_shared<Ticker>(ex);
  ticker_ = ticker;
  asio::co_spawn(
      ticker->timer.get_executor(),
      [this, ticker, interval]() -> asio::awaitable<void> {
        while (!ticker->stopped.load()) {
          ticker->timer.expires_after(interval);
          auto [ec] = co_await ticker->timer.async_wait(asio::as_tuple(asio::use_awaitable));
          if (ec || ticker->stopped.load()) {
            break;
          }
          Tick();
        }
      },
      asio::detached);
}

void MembershipService::StopTicker() {
  if (!ticker_) {
    return;
  }
  auto ticker = std::move(ticker_);
  ticker->stopped.store(true);
  asio::post(ticker->timer.get_executor(), [ticker] { ticker->timer.cancel(); });
}

}  // namespace agentmesh::server
