#include "store/sqlite/migrations.h"

#include <cstdint>
#include <string>

#include "agentmesh/core/check.h"

namespace agentmesh::store::sqlite {
namespace {

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations("
    "module TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL, "
    "PRIMARY KEY(module, version))";
constexpr std::string_view kLatestVersion =
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE module = ?1";
// SQLite supplies the wall time, so no clock is read here.
constexpr std::string_view kRecord =
    "INSERT INTO schema_migrations(module, version, applied_at) "
    "VALUES(?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))";

core::Result<std::int64_t> LatestVersion(Database& db, std::string_view module) {
  auto stmt = db.Cached(kLatestVersion);
  if (!stmt) {
    return core::Err(stmt.error());
  }
  (*stmt)->Bind(1, module);
  auto row = (*stmt)->Step();
  if (!row) {
    return core::Err(row.error());
  }
  return *row ? (*stmt)->ColumnInt64(0) : 0;
}

core::Status ApplyOne(Database& db, std::string_view module, const Migration& migration) {
  auto tx = Transaction::Begin(db, Transaction::Mode::kImmediate);
  if (!tx) {
    return tx.error();
  }
  if (core::Status s = db.Exec(migration.sql); !s.ok()) {
    return s;
  }
  auto stmt = db.Cached(kRecord);
  if (!stmt) {
    return stmt.error();
  }
  (*stmt)->Bind(1, module).Bind(2, static_cast<std::int64_t>(migration.version));
  if (core::Status s = (*stmt)->Run(); !s.ok()) {
    return s;
  }
  return tx->Commit();
}

}  // namespace

core::Status ApplyMigrations(Database& db, std::string_view module,
                             std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    AM_CHECK_MSG(migrations[i].version == static_cast<int>(i) + 1,
                 "migration versions must be 1..N in order");
  }
  if (core::Status s = db.Exec(kCreateTable); !s.ok()) {
    return s;
  }
  auto latest = LatestVersion(db, module);
  if (!latest) {
    return latest.error();
  }
  if (*latest > static_cast<std::int64_t>(migrations.size())) {
    return core::FailedPrecondition(
        "store_schema_too_new", "the database has " + std::string(module) + " schema version " +
                                    std::to_string(*latest) + " but this binary knows only up to " +
                                    std::to_string(migrations.size()) +
                                    "; run a newer agentmesh or use another data directory");
  }
  for (const Migration& migration : migrations) {
    if (migration.version <= *latest) {
      continue;
    }
    if (core::Status s = ApplyOne(db, module, migration); !s.ok()) {
      return s;
    }
  }
  return core::OkStatus();
}

}  // namespace agentmesh::store::sqlite
