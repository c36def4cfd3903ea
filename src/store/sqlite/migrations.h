// Numbered, forward-only schema migrations, recorded in the database itself.
//
// Internal to store/sqlite. Each module owns an ordered list of migrations; the table
// schema_migrations(module, version, applied_at) records which ones have run. Applying a
// list runs only the versions not yet recorded, each in its own transaction. Not
// thread-safe: runs on the writer connection before the writer thread starts.
#pragma once

#include <span>
#include <string_view>

#include "agentmesh/core/status.h"

#include "store/sqlite/database.h"

namespace agentmesh::store::sqlite {

struct Migration {
  int version;           // 1, 2, 3 ... in order, never renumbered
  std::string_view sql;  // one or more statements
};

// Applies the migrations of `module` that are not recorded yet, in version order.
// Requires: versions are 1..N in order.
// Errors: store errors from SQLite; kFailedPrecondition ("store_schema_too_new") when the
// database records a version this binary does not know.
core::Status ApplyMigrations(Database& db, std::string_view module,
                             std::span<const Migration> migrations);

}  // namespace agentmesh::store::sqlite
