// HealthChecker: the node's active health checks of registered instances.
//
// Every `interval` it GETs http://{address}/health of each MembershipService::
// CheckTargets() instance on a fresh connection (client::FetchOnce) with `timeout`,
// at most `max_in_flight` at a time; a 2xx answer is a success, anything else
// (including a timeout or a refused connection) a failure. Results go to
// MembershipService::RecordCheck as observer "node:<node_id>". Start/Stop from one
// control thread; the checks run on a strand of the given executor.
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"
#include "agentmesh/server/membership_service.h"

namespace agentmesh::server {

namespace internal {
struct HealthCheckerState;
}  // namespace internal

struct HealthCheckerOptions {
  // Time between the starts of two check rounds (rule 6.3: every 10 s).
  core::Duration interval = std::chrono::seconds(10);
  // Deadline of one check, connect included; below `interval`.
  core::Duration timeout = std::chrono::seconds(2);
  // Most checks in flight at once.
  int max_in_flight = 64;
};

core::Status Validate(const HealthCheckerOptions& options);

class HealthChecker {
 public:
  // `membership` must outlive the checker and its io_context's pending work.
  HealthChecker(HealthCheckerOptions options, MembershipService& membership,
                boost::asio::any_io_executor ex);
  ~HealthChecker();

  // Starts the periodic rounds; the first runs one interval from now.
  void Start();
  // Stops scheduling rounds; checks already in flight finish within `timeout`.
  void Stop();

  // Checks every target once and completes when all results are recorded.
  boost::asio::awaitable<void> RunRound();

 private:
  std::shared_ptr<internal::HealthCheckerState> state_;
};

}  // namespace agentmesh::server
