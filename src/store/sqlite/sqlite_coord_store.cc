#include "store/sqlite/sqlite_coord_store.h"

#include <array>
#include <string>
#include <utility>

namespace agentmesh::store::sqlite {
namespace {

constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE coord_objects("
     "kind TEXT NOT NULL, "  // coord::ObjectKindName
     "name TEXT NOT NULL, "
     "body TEXT NOT NULL, "  // the object's JSON snapshot
     "PRIMARY KEY(kind, name))"},
};

constexpr std::string_view kUpsert =
    "INSERT INTO coord_objects(kind, name, body) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(kind, name) DO UPDATE SET body = excluded.body";
constexpr std::string_view kDelete = "DELETE FROM coord_objects WHERE kind = ?1 AND name = ?2";
constexpr std::string_view kSelectAll = "SELECT kind, name, body FROM coord_objects";

constexpr std::array kKinds = {coord::ObjectKind::kSession,  coord::ObjectKind::kLock,
                               coord::ObjectKind::kElection, coord::ObjectKind::kBarrier,
                               coord::ObjectKind::kProposal, coord::ObjectKind::kCounters};

core::Status Apply(Database& db, const coord::StoredObject& o) {
  auto stmt = db.Cached(o.json ? kUpsert : kDelete);
  if (!stmt) {
    return stmt.error();
  }
  (*stmt)->Bind(1, coord::ObjectKindName(o.kind)).Bind(2, o.name);
  if (o.json) {
    (*stmt)->Bind(3, *o.json);
  }
  return (*stmt)->Run();
}

}  // namespace

std::span<const Migration> SqliteCoordStore::Migrations() { return kMigrations; }

void SqliteCoordStore::Write(std::vector<coord::StoredObject> objects, Done done) {
  writer_.Submit({[objects = std::move(objects)](Database& db) -> core::Status {
                    for (const auto& o : objects) {
                      if (core::Status s = Apply(db, o); !s.ok()) {
                        return s;
                      }
                    }
                    return core::OkStatus();
                  },
                  std::move(done)});
}

core::Result<std::vector<coord::StoredObject>> SqliteCoordStore::LoadAll() {
  std::lock_guard lock(reader_mu_);
  auto stmt = reader_.Cached(kSelectAll);
  if (!stmt) {
    return core::Err(stmt.error());
  }
  std::vector<coord::StoredObject> out;
  for (;;) {
    auto row = (*stmt)->Step();
    if (!row) {
      return core::Err(row.error());
    }
    if (!*row) {
      return out;
    }
    const std::string_view kind = (*stmt)->ColumnText(0);
    coord::StoredObject o;
    bool known = false;
    for (coord::ObjectKind k : kKinds) {
      if (coord::ObjectKindName(k) == kind) {
        o.kind = k;
        known = true;
      }
    }
    if (!known) {
      return core::Err(core::Status(core::StatusCode::kDataLoss, "store_corrupt",
                                    "coord object of unknown kind '" + std::string(kind) + "'"));
    }
    o.name = std::string((*stmt)->ColumnText(1));
    o.json = std::string((*stmt)->ColumnText(2));
    out.push_back(std::move(o));
  }
}

}  // namespace agentmesh::store::sqlite
