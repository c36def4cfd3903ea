// SqliteMembershipStore: health::MembershipStore over the embedded store's agents table.
//
// Internal to store/sqlite; owned by the embedded store. Writes go through the
// GroupCommitter (done = committed); LoadAll reads through the reader connection, which
// is shared under a mutex. Thread-safe.
#pragma once

#include <mutex>
#include <span>

#include "agentmesh/health/membership_store.h"

#include "store/sqlite/database.h"
#include "store/sqlite/group_committer.h"
#include "store/sqlite/migrations.h"

namespace agentmesh::store::sqlite {

class SqliteMembershipStore final : public health::MembershipStore {
 public:
  // Returns the migrations of the "membership" module.
  static std::span<const Migration> Migrations();

  // `writer`, `reader` and `reader_mu` must outlive this object.
  SqliteMembershipStore(GroupCommitter& writer, Database& reader, std::mutex& reader_mu)
      : writer_(writer), reader_(reader), reader_mu_(reader_mu) {}

  void Put(const health::StoredInstance& instance, Done done) override;
  void PutState(const std::string& id, health::HealthState state, Done done) override;
  void Remove(const std::string& id, Done done) override;
  core::Result<std::vector<health::StoredInstance>> LoadAll() override;

 private:
  GroupCommitter& writer_;
  Database& reader_;
  std::mutex& reader_mu_;
};

}  // namespace agentmesh::store::sqlite
