// MembershipService: the shell around health::Membership for the HTTP server.
//
// It owns the Membership core behind one std::mutex (critical sections are a few
// microseconds of in-memory work; see src/server/README.md for why not a strand),
// reads time from the injected Clock, persists registrations through the
// MembershipStore port, and turns transitions into JSON logs, metrics and PutState
// writes. Register and Deregister complete only after the store commit (acknowledged
// = durable): the store write is enqueued while the lock is held, so per-id commit
// order equals memory order. Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/event.h"
#include "agentmesh/core/status.h"
#include "agentmesh/health/membership.h"
#include "agentmesh/health/membership_store.h"
#include "agentmesh/observe/metrics.h"

namespace agentmesh::server {

struct RegisterReply {
  health::RegisterOutcome outcome = health::RegisterOutcome::kCreated;
  health::InstanceView view;
};

class MembershipService {
 public:
  // `store`, `clock`, `sink` (may be null) and `metrics` must outlive the service.
  MembershipService(health::MembershipOptions options, std::string node_id,
                    health::MembershipStore& store, core::Clock& clock, core::EventSink* sink,
                    observe::Registry& metrics);
  ~MembershipService();

  const std::string& node_id() const { return node_id_; }
  // The observer name of this node's own checks: "node:<node_id>".
  const std::string& observer() const { return observer_; }

  // Restores every registration from the store. Call once, before serving.
  // Errors: whatever MembershipStore::LoadAll returns.
  core::Status Restore();

  // Registers or updates `spec` and completes after the store commit.
  // Errors: the store's failure (kUnavailable...).
  boost::asio::awaitable<core::Result<RegisterReply>> Register(health::InstanceSpec spec);
  // Marks `id` left and completes after the store commit. Errors: kNotFound
  // (unknown_instance), the store's failure.
  boost::asio::awaitable<core::Result<health::InstanceView>> Deregister(std::string id);

  // Records a heartbeat and returns the instance's state afterwards.
  // Errors: kNotFound (unknown_instance), kFailedPrecondition (instance_left).
  core::Result<health::HealthState> Heartbeat(const std::string& id,
                                              const health::LoadSample& load);
  // Records peer `observer`'s view of `id` and returns the state of `id` afterwards.
  core::Result<health::HealthState> Observe(const std::string& id, const std::string& observer,
                                            bool healthy);
  // Records this node's health check of `id`.
  core::Status RecordCheck(const std::string& id, bool ok);
  // Evaluates failure detectors (call every tick interval).
  void Tick();

  std::optional<health::InstanceView> Get(const std::string& id) const;
  std::vector<health::InstanceView> List(const health::ListFilter& filter) const;
  std::vector<health::Transition> History(const std::string& id) const;
  health::HealthSummary Summary() const;
  std::vector<std::pair<std::string, std::string>> CheckTargets() const;
  // Returns a number that grows whenever an instance registers, changes its
  // registration or changes state, so that routing tables know when to rebuild.
  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

  // Starts a timer on `ex` that calls Tick() every `interval` until StopTicker().
  void StartTicker(boost::asio::any_io_executor ex, core::Duration interval);
  void StopTicker();

 private:
  struct Metrics;
  // Persists and counts `transitions`; call with mu_ held (store writes stay ordered).
  void PersistTransitions(const std::vector<health::Transition>& transitions);
  // Logs `transitions`; call without mu_.
  void LogTransitions(const std::vector<health::Transition>& transitions) const;

  const std::string node_id_;
  const std::string observer_;
  health::MembershipStore& store_;
  core::Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  mutable std::mutex mu_;
  health::Membership membership_;  // guarded by mu_
  std::atomic<std::uint64_t> version_{0};
  struct Ticker;
  std::shared_ptr<Ticker> ticker_;
};

}  // namespace agentmesh::server
