// Shared fixture of the LockTable tests (locks_test.cc, lock_sets_test.cc): a table over a
// ManualClock whose requests get consecutive waiter ids.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agentmesh/coord/locks.h"

#include "testing/manual_clock.h"

namespace agentmesh::coord {

class LockTableTest : public ::testing::Test {
 protected:
  explicit LockTableTest(LockOptions options = {})
      : table_(std::make_unique<LockTable>(std::move(options), sequencer_)) {}

  core::TimePoint Now() const { return clock_.Now(); }

  // Acquires `name`; returns the waiter id it used in `last_waiter_`.
  Outcome Acquire(std::string_view name, std::string_view session,
                  LockMode mode = LockMode::kExclusive) {
    last_waiter_ = next_waiter_++;
    return table_->Acquire(name, session, "agent-" + std::string(session), mode, last_waiter_,
                           Now(), effects_);
  }
  Outcome AcquireSet(std::vector<std::string> names, std::string_view session,
                     LockMode mode = LockMode::kExclusive) {
    last_waiter_ = next_waiter_++;
    return table_->AcquireSet(std::move(names), session, "agent-" + std::string(session), mode,
                              last_waiter_, Now(), effects_);
  }
  // Returns the token of an immediate grant, failing the test otherwise.
  std::uint64_t Granted(const Outcome& outcome) {
    EXPECT_FALSE(outcome.queued);
    EXPECT_TRUE(outcome.result.has_value())
        << (outcome.result ? "" : outcome.result.error().ToString());
    if (outcome.queued || !outcome.result) {
      return 0;
    }
    return outcome.result->at("token").to_number<std::uint64_t>();
  }
  core::Result<boost::json::object> Release(std::string_view name, std::string_view session) {
    return table_->Release(name, session, Now(), effects_);
  }
  // Returns the waiters woken since the last call and forgets them.
  std::vector<std::uint64_t> TakeWoken() {
    std::vector<std::uint64_t> woken;
    for (const auto& wakeup : effects_.wakeups) {
      woken.push_back(wakeup.waiter);
    }
    effects_ = {};
    return woken;
  }
  // Returns the sessions holding `name`, in grant order.
  std::vector<std::string> Holders(std::string_view name) const {
    std::vector<std::string> sessions;
    const auto view = table_->Get(name, Now());
    for (const auto& holder : view->at("holders").as_array()) {
      sessions.emplace_back(holder.as_object().at("session").as_string());
    }
    return sessions;
  }
  std::vector<std::string> EventTypes() const {
    std::vector<std::string> types;
    for (const auto& event : effects_.events) {
      types.push_back(event.type);
    }
    return types;
  }

  testing::ManualClock clock_;
  Sequencer sequencer_;
  std::unique_ptr<LockTable> table_;
  Effects effects_;
  std::uint64_t next_waiter_ = 1;
  std::uint64_t last_waiter_ = 0;
};

}  // namespace agentmesh::coord
