// The coordination shell: core under a mutex, durable effects, parked waiters, expiry
// (see coord_service.h).
#include "agentmesh/server/coord_service.h"

#include <algorithm>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include "agentmesh/core/ids.h"
#include "agentmesh/core/log.h"

namespace agentmesh::server {

namespace asio = boost::asio;

// A call parked until a wakeup or its wait runs out. Touched under the service's mutex;
// the timer only on the parked coroutine's executor.
struct CoordService::Waiter {
  explicit Waiter(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  bool woken = false;          // a wakeup for it is on its way through a commit
  std::optional<Json> result;  // set once that commit is done
};

// One call's effects on their way through the store: written under the mutex (so the
// store commits calls in order), delivered after the commit.
struct CoordService::Pending {
  std::vector<coord::Wakeup> wakeups;
  std::vector<core::Event> events;
  std::vector<std::string> elections;  // elections whose leadership changed
  std::optional<std::uint64_t> ceiling;

  std::mutex mu;
  std::optional<core::Status> status;           // the commit's outcome, once known
  std::function<void(core::Status)> on_commit;  // the awaiting coroutine's handler
};

// A subscriber to one election's leadership changes, registered in watches_.
class CoordService::Watch final : public CoordBackend::Subscription {
 public:
  Watch(CoordService& service, std::string name,
        std::function<void(const boost::json::object&)> on_change);
  ~Watch() override;
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

 private:
  friend class CoordService;
  CoordService& service_;
  std::string name_;
  std::function<void(const boost::json::object&)> on_change_;
};

CoordService::Watch::Watch(CoordService& service, std::string name,
                           std::function<void(const boost::json::object&)> on_change)
    : service_(service), name_(std::move(name)), on_change_(std::move(on_change)) {}

CoordService::Watch::~Watch() {
  std::lock_guard lock(service_.mu_);
  auto [begin, end] = service_.watches_.equal_range(name_);
  for (auto it = begin; it != end; ++it) {
    if (it->second == this) {
      service_.watches_.erase(it);
      break;
    }
  }
}

std::unique_ptr<CoordBackend::Subscription> CoordService::WatchElection(
    std::string name, std::function<void(const boost::json::object&)> on_change) {
  auto watch = std::make_unique<Watch>(*this, name, std::move(on_change));
  std::lock_guard lock(mu_);
  // Under the lock, so that no change is delivered between this state and the watch.
  auto state = core_.GetElection(name, clock_.Now());
  watch->on_change_(state ? *state : boost::json::object{{"name", name}, {"leader", nullptr}});
  watches_.emplace(std::move(name), watch.get());
  return watch;
}

struct CoordService::Ticker {
  explicit Ticker(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  bool stopped = false;  // guarded by the service's mutex
};

// Returns an awaitable that completes, on the awaiting coroutine's executor, with the
// outcome of `pending`'s commit. Not a coroutine itself: the store's callback posts the
// completion, and the caller delivers the effects with the Pending it owns.
auto CoordService::AwaitCommit(std::shared_ptr<Pending> pending) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(core::Status)>(
      [pending](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto resume = [shared](core::Status s) {
          auto ex = asio::get_associated_executor(*shared);
          asio::post(ex, [shared, s = std::move(s)]() mutable { (*shared)(std::move(s)); });
        };
        std::optional<core::Status> ready;
        {
          std::lock_guard lock(pending->mu);
          if (pending->status) {
            ready = *pending->status;
          } else {
            pending->on_commit = resume;
          }
        }
        if (ready) {
          resume(std::move(*ready));
        }
      },
      asio::use_awaitable);
}

CoordService::CoordService(CoordServiceOptions options, coord::CoordStore& store,
                           core::Clock& clock, core::EventSink* events)
    : options_(std::move(options)),
      store_(store),
      clock_(clock),
      events_(events),
      core_(options_.core) {}

CoordService::~CoordService() { Stop(); }

core::Status CoordService::Restore() {
  auto stored = store_.LoadAll();
  if (!stored) {
    return stored.error();
  }
  // Sessions first: locks and candidacies refer to them.
  std::stable_sort(stored->begin(), stored->end(),
                   [](const coord::StoredObject& a, const coord::StoredObject& b) {
                     return a.kind == coord::ObjectKind::kSession &&
                            b.kind != coord::ObjectKind::kSession;
                   });
  std::lock_guard lock(mu_);
  const core::TimePoint now = clock_.Now();
  for (const auto& o : *stored) {
    if (core::Status s = core_.Restore(o.kind, o.name, o.json.value_or("{}"), now); !s.ok()) {
      return core::Status(core::StatusCode::kDataLoss, "store_corrupt",
                          "cannot restore " + std::string(coord::ObjectKindName(o.kind)) + " '" +
                              o.name + "': " + s.message());
    }
  }
  return core::OkStatus();
}

void CoordService::StartTicker(asio::any_io_executor ex) {
  ticker_ = std::make_shared<Ticker>(ex);
  asio::co_spawn(
      ex,
      [this, ticker = ticker_]() -> asio::awaitable<void> {
        for (;;) {
          {
            std::lock_guard lock(mu_);
            if (ticker->stopped) {
              co_return;
            }
            const core::TimePoint now = clock_.Now();
            const core::TimePoint soon = now + std::chrono::seconds(1);
            const auto next = core_.NextDeadline();
            ticker->timer.expires_at(next ? std::min(*next, soon) : soon);
          }
          co_await ticker->timer.async_wait(asio::as_tuple(asio::use_awaitable));
          std::shared_ptr<Pending> pending;
          {
            std::lock_guard lock(mu_);
            if (ticker->stopped) {
              co_return;
            }
            coord::Effects effects;
            const core::TimePoint now = clock_.Now();
            core_.Tick(now, effects);
            pending = Persist(std::move(effects), now);
          }
          const core::Status committed = co_await AwaitCommit(pending);
          Deliver(*pending, committed);
        }
      },
      asio::detached);
}

void CoordService::Stop() {
  std::shared_ptr<Ticker> ticker;
  {
    std::lock_guard lock(mu_);
    if (ticker_ == nullptr || ticker_->stopped) {
      return;
    }
    ticker_->stopped = true;
    ticker = ticker_;
  }
  asio::post(ticker->timer.get_executor(), [ticker] { ticker->timer.cancel(); });
}

std::shared_ptr<CoordService::Pending> CoordService::Persist(coord::Effects effects,
                                                             core::TimePoint now) {
  core_.NoteSequencer(effects);
  auto pending = std::make_shared<Pending>();
  std::vector<coord::StoredObject> writes;
  writes.reserve(effects.dirty.size());
  for (const coord::Dirty& d : effects.dirty) {
    if (d.kind == coord::ObjectKind::kCounters) {
      pending->ceiling = core_.sequencer().ceiling();
    }
    writes.push_back({d.kind, d.name, core_.Snapshot(d)});
  }
  for (const coord::Wakeup& w : effects.wakeups) {
    if (auto it = waiters_.find(w.waiter); it != waiters_.end()) {
      it->second->woken = true;
    }
  }
  const core::WallTime wall = clock_.WallNow();
  for (core::Event& e : effects.events) {
    e.timestamp = wall;
    if (e.type.starts_with("election.")) {
      if (const auto* name = e.data.if_contains("name");
          name != nullptr && name->is_string() &&
          std::find(pending->elections.begin(), pending->elections.end(),
                    std::string_view(name->as_string())) == pending->elections.end()) {
        pending->elections.emplace_back(name->as_string());
      }
    }
  }
  pending->wakeups = std::move(effects.wakeups);
  pending->events = std::move(effects.events);
  (void)now;
  // Even a call that changed nothing durable waits for the writes before it, so that
  // what it answers (say, a re-acquired lock) is never ahead of the disk.
  store_.Write(std::move(writes), [pending](core::Status s) {
    std::function<void(core::Status)> handler;
    {
      std::lock_guard lock(pending->mu);
      pending->status = s;
      handler = std::move(pending->on_commit);
    }
    if (handler) {
      handler(std::move(s));
    }
  });
  return pending;
}

void CoordService::Deliver(Pending& pending, const core::Status& committed) {
  std::lock_guard lock(mu_);
  if (committed.ok() && pending.ceiling) {
    core_.CeilingPersisted(*pending.ceiling);
  }
  for (coord::Wakeup& w : pending.wakeups) {
    auto it = waiters_.find(w.waiter);
    if (it == waiters_.end()) {
      continue;
    }
    std::shared_ptr<Waiter> waiter = it->second;
    waiters_.erase(it);
    waiter->result = committed.ok() ? std::move(w.result) : Json(core::Err(committed));
    asio::post(waiter->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
  }
  if (!committed.ok()) {
    core::log::Error("coordination state not persisted", {{"error", committed.ToString()}});
    return;
  }
  if (events_ != nullptr) {
    for (core::Event& e : pending.events) {
      events_->Emit(std::move(e));
    }
  }
  const core::TimePoint now = clock_.Now();
  for (const std::string& name : pending.elections) {
    auto [begin, end] = watches_.equal_range(name);
    if (begin == end) {
      continue;
    }
    auto state = core_.GetElection(name, now);
    const boost::json::object shown =
        state ? *state : boost::json::object{{"name", name}, {"leader", nullptr}};
    for (auto it = begin; it != end; ++it) {
      it->second->on_change_(shown);
    }
  }
}

asio::awaitable<CoordService::Json> CoordService::Run(const Op& op, core::Duration wait,
                                                      const core::Status& timeout_error) {
  const auto ex = co_await asio::this_coro::executor;
  std::shared_ptr<Waiter> waiter;
  std::shared_ptr<Pending> pending;
  coord::Outcome out;
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    const core::TimePoint now = clock_.Now();
    id = next_waiter_++;
    coord::Effects effects;
    out = op(core_, id, now, effects);
    if (out.queued) {
      waiter = std::make_shared<Waiter>(ex);
      waiters_.emplace(id, waiter);
    }
    pending = Persist(std::move(effects), now);
  }
  const core::Status committed = co_await AwaitCommit(pending);
  Deliver(*pending, committed);
  if (!committed.ok()) {
    co_return core::Err(committed);
  }
  if (!out.queued) {
    co_return std::move(out.result);
  }
  const core::TimePoint deadline = clock_.Now() + wait;
  waiter->timer.expires_at(deadline);
  for (;;) {
    std::shared_ptr<Pending> cancelled;
    {
      std::lock_guard lock(mu_);
      if (waiter->result) {
        Json result = std::move(*waiter->result);
        co_return result;
      }
      const core::TimePoint now = clock_.Now();
      if (waiter->woken) {
        // Granted, but the commit that makes it durable is still running.
        waiter->timer.expires_at(core::TimePoint::max());
      } else if (now >= deadline) {
        coord::Effects effects;
        core_.CancelWait(id, now, effects);
        waiters_.erase(id);
        cancelled = Persist(std::move(effects), now);
      }
    }
    if (cancelled != nullptr) {
      // Withdrawing may have let others through.
      const core::Status committed_cancel = co_await AwaitCommit(cancelled);
      Deliver(*cancelled, committed_cancel);
      co_return core::Err(timeout_error);
    }
    co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

CoordService::Reply CoordService::CreateSession(const std::string& agent,
                                                std::optional<core::Duration> ttl) {
  const std::string id = core::NewRandomId();
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects& fx) {
    return coord::Outcome{false, c.CreateSession(id, agent, ttl, now, fx)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::RenewSession(const std::string& id) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects& fx) {
    return coord::Outcome{false, c.RenewSession(id, now, fx)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::DestroySession(const std::string& id) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects& fx) {
    return coord::Outcome{false, c.DestroySession(id, now, fx)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

CoordService::Reply CoordService::GetSession(const std::string& id) {
  Op op = [&](coord::Coordinator& c, std::uint64_t, core::TimePoint now, coord::Effects&) {
    return coord::Outcome{false, c.GetSession(id, now)};
  };
  const core::Status no_timeout;
  co_return co_await Run(op, core::Duration::zero(), no_timeout);
}

}  // namespace agentmesh::server
