// SqliteCoordStore: coord::CoordStore over the embedded store's coord_objects table.
//
// Internal to store/sqlite; owned by the embedded store. Writes go through the
// GroupCommitter (done = committed); LoadAll reads through the reader connection, which
// is shared under a mutex. Thread-safe.
#pragma once

#include <mutex>
#include <span>

#include "agentmesh/coord/coord_store.h"

#include "store/sqlite/database.h"
#include "store/sqlite/group_committer.h"
#include "store/sqlite/migrations.h"

namespace agentmesh::store::sqlite {

class SqliteCoordStore final : public coord::CoordStore {
 public:
  // Returns the migrations of the "coord" module.
  static std::span<const Migration> Migrations();

  // `writer`, `reader` and `reader_mu` must outlive this object.
  SqliteCoordStore(GroupCommitter& writer, Database& reader, std::mutex& reader_mu)
      : writer_(writer), reader_(reader), reader_mu_(reader_mu) {}

  void Write(std::vector<coord::StoredObject> objects, Done done) override;
  core::Result<std::vector<coord::StoredObject>> LoadAll() override;

 private:
  GroupCommitter& writer_;
  Database& reader_;
  std::mutex& reader_mu_;
};

}  // namespace agentmesh::store::sqlite
