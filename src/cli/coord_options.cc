#include "cli/coord_options.h"

#include <algorithm>
#include <chrono>

namespace agentmesh::cli {

server::CoordServiceOptions ToCoordServiceOptions(const config::Policy& policy,
                                                  const config::Fleet* fleet) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  server::CoordServiceOptions o;
  coord::CoordinatorOptions& c = o.core;
  c.sessions.default_ttl = duration_cast<milliseconds>(policy.consensus.session_ttl);
  c.sessions.min_ttl = duration_cast<milliseconds>(policy.consensus.session_ttl_min);
  c.sessions.max_ttl = duration_cast<milliseconds>(policy.consensus.session_ttl_max);
  // Rules 1.1 (coordinators hold a lock at most 60 s) and 4.3 (lock timeout 60 s) bound
  // the same thing; the stricter one applies.
  c.locks.max_hold =
      duration_cast<milliseconds>(std::min(policy.consensus.max_lock_hold, policy.locks.timeout));
  c.locks.max_renewals = policy.locks.max_renewals;
  for (std::size_t i = 0; i < policy.locks.hierarchy.size(); ++i) {
    c.locks.hierarchy.push_back({policy.locks.hierarchy[i], static_cast<int>(i) + 1});
  }
  c.barriers.default_ttl = policy.consensus.barrier_ttl;
  c.proposals.min_phase1_agents = policy.quorum.min_phase1_agents;
  c.proposals.system_change_majority = policy.quorum.system_change_majority;
  c.proposals.security_approver = policy.quorum.security_approver;
  c.proposals.security_approval_required = policy.quorum.security_approval_required;
  o.max_wait = policy.consensus.max_wait;
  if (fleet != nullptr) {
    for (const config::FleetAgent& a : fleet->agents) {
      c.proposals.voters.push_back({a.name, a.phase});
      if (a.phase == 1) {
        o.roles.phase1_domain[a.name] = a.domain;
      }
      if (a.role == config::kGlobalCoordinatorRole) {
        o.roles.global_agent = a.name;
      }
    }
  }
  return o;
}

server::EtcdCoordOptions ToEtcdCoordOptions(const config::Policy& policy,
                                            const server::CoordServiceOptions& coord) {
  server::EtcdCoordOptions o;
  o.coord = coord;
  o.etcd.endpoints = policy.storage.etcd_endpoints;
  o.etcd.request_timeout = policy.storage.etcd_request_timeout;
  o.prefix = policy.storage.etcd_prefix;
  return o;
}

}  // namespace agentmesh::cli
