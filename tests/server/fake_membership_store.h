// FakeMembershipStore: an in-memory MembershipStore whose commits the test controls.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "agentmesh/health/membership_store.h"

namespace agentmesh::testing {

class FakeMembershipStore final : public health::MembershipStore {
 public:
  // When `auto_commit`, every write completes (with `result`) inside the call.
  explicit FakeMembershipStore(bool auto_commit = true) : auto_commit_(auto_commit) {}

  void Put(const health::StoredInstance& instance, Done done) override {
    Submit("put " + instance.spec.id + " " + std::string(health::HealthStateName(instance.state)),
           std::move(done));
  }
  void PutState(const std::string& id, health::HealthState state, Done done) override {
    Submit("state " + id + " " + std::string(health::HealthStateName(state)), std::move(done));
  }
  void Remove(const std::string& id, Done done) override {
    Submit("remove " + id, std::move(done));
  }
  core::Result<std::vector<health::StoredInstance>> LoadAll() override { return stored; }

  // Completes every pending write with `status`, oldest first.
  void CommitAll(core::Status status = core::OkStatus()) {
    std::deque<Done> pending;
    {
      std::lock_guard lock(mu_);
      pending.swap(pending_);
    }
    for (auto& done : pending) {
      done(status);
    }
  }
  std::size_t pending() const {
    std::lock_guard lock(mu_);
    return pending_.size();
  }
  std::vector<std::string> ops() const {
    std::lock_guard lock(mu_);
    return ops_;
  }

  std::vector<health::StoredInstance> stored;  // what LoadAll returns
  core::Status result;                         // auto-commit outcome

 private:
  void Submit(std::string op, Done done) {
    {
      std::lock_guard lock(mu_);
      ops_.push_back(std::move(op));
      if (!auto_commit_) {
        pending_.push_back(std::move(done));
        return;
      }
    }
    done(result);
  }

  const bool auto_commit_;
  mutable std::mutex mu_;
  std::vector<std::string> ops_;
  std::deque<Done> pending_;
};

}  // namespace agentmesh::testing
