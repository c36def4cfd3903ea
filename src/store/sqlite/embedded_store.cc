#include "agentmesh/store/embedded_store.h"

#include <exception>
#include <filesystem>
#include <future>
#include <mutex>
#include <utility>

#include "agentmesh/core/ids.h"
#include "agentmesh/core/log.h"

#include "store/sqlite/database.h"
#include "store/sqlite/group_committer.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_coord_store.h"
#include "store/sqlite/sqlite_membership_store.h"

namespace agentmesh::store {
namespace {

using sqlite::Database;

constexpr std::string_view kDatabaseFile = "agentmesh.db";
// How long a connection waits for a lock held by the other one (checkpoints, recovery).
constexpr std::string_view kBusyTimeoutPragma = "PRAGMA busy_timeout = 5000";

constexpr sqlite::Migration kStoreMigrations[] = {
    {1, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT)"},
};

constexpr std::string_view kSelectNodeId = "SELECT value FROM meta WHERE key = 'node_id'";
constexpr std::string_view kUpsertNodeId =
    "INSERT INTO meta(key, value) VALUES('node_id', ?1) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value";

core::Status StoreUnavailable(std::string message) {
  return core::Unavailable("store_unavailable", std::move(message));
}

// Runs a statement that returns one text value, e.g. a PRAGMA.
core::Result<std::string> QueryText(Database& db, std::string_view sql) {
  auto stmt = db.Prepare(sql);
  if (!stmt) {
    return core::Err(stmt.error());
  }
  auto row = stmt->Step();
  if (!row) {
    return core::Err(row.error());
  }
  return *row ? std::string(stmt->ColumnText(0)) : std::string();
}

core::Status ConfigureWriter(Database& db) {
  if (core::Status s = db.Exec(kBusyTimeoutPragma); !s.ok()) {
    return s;
  }
  auto mode = QueryText(db, "PRAGMA journal_mode = WAL");
  if (!mode) {
    return mode.error();
  }
  if (*mode != "wal") {
    return StoreUnavailable("the database refused write-ahead logging (journal_mode is '" + *mode +
                            "'); put the data directory on a local file system");
  }
  return db.Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
}

core::Status ConfigureReader(Database& db) {
  return db.Exec(std::string(kBusyTimeoutPragma) + "; PRAGMA query_only = ON");
}

core::Status PrepareDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!std::filesystem::is_directory(dir)) {
    return StoreUnavailable("cannot create data directory '" + dir.string() +
                            "': " + (ec ? ec.message() : "it exists and is not a directory"));
  }
  return core::OkStatus();
}

class SqliteEmbeddedStore final : public EmbeddedStore {
 public:
  SqliteEmbeddedStore(std::unique_ptr<Database> writer, std::unique_ptr<Database> reader,
                      int max_batch)
      : reader_(std::move(reader)),
        committer_(std::move(writer), max_batch),
        membership_(committer_, *reader_, reader_mu_),
        coord_(committer_, *reader_, reader_mu_) {}

  health::MembershipStore& membership() override { return membership_; }
  coord::CoordStore& coord() override { return coord_; }

  core::Result<std::string> NodeId(std::string_view configured) override {
    if (!configured.empty()) {
      if (core::Status s = core::ValidateId(configured, "node_id"); !s.ok()) {
        return core::Err(std::move(s));
      }
    }
    struct Outcome {
      std::string id;
      std::promise<core::Status> committed;
    };
    auto outcome = std::make_shared<Outcome>();
    std::future<core::Status> committed = outcome->committed.get_future();
    committer_.Submit({[outcome, wanted = std::string(configured)](Database& db) {
                         return ResolveNodeId(db, wanted, &outcome->id);
                       },
                       [outcome](core::Status s) { outcome->committed.set_value(std::move(s)); }});
    if (core::Status s = committed.get(); !s.ok()) {
      return core::Err(std::move(s));
    }
    return outcome->id;
  }

  void Flush() override { committer_.Flush(); }

  EmbeddedStoreStats stats() const override {
    const sqlite::GroupCommitStats s = committer_.stats();
    return {s.writes, s.transactions, s.failures};
  }

 private:
  // Runs on the writer thread inside a batch: keeps `wanted` if set, else the stored id,
  // else a fresh one.
  static core::Status ResolveNodeId(Database& db, const std::string& wanted, std::string* id) {
    if (wanted.empty()) {
      auto select = db.Cached(kSelectNodeId);
      if (!select) {
        return select.error();
      }
      auto row = (*select)->Step();
      if (!row) {
        return row.error();
      }
      if (*row) {
        *id = std::string((*select)->ColumnText(0));
        return core::OkStatus();
      }
    }
    *id = wanted.empty() ? core::NewRandomId() : wanted;
    auto upsert = db.Cached(kUpsertNodeId);
    if (!upsert) {
      return upsert.error();
    }
    (*upsert)->Bind(1, *id);
    return (*upsert)->Run();
  }

  std::mutex reader_mu_;
  std::unique_ptr<Database> reader_;
  sqlite::GroupCommitter committer_;
  sqlite::SqliteMembershipStore membership_;
  sqlite::SqliteCoordStore coord_;
};

core::Result<std::unique_ptr<EmbeddedStore>> OpenStore(const EmbeddedStoreOptions& options) {
  if (options.data_dir.empty() || options.max_batch < 1) {
    return core::Err(core::InvalidArgument(
        "invalid_store_options", "store data_dir must be set and max_batch must be at least 1"));
  }
  const std::filesystem::path dir(options.data_dir);
  if (core::Status s = PrepareDirectory(dir); !s.ok()) {
    return core::Err(std::move(s));
  }
  const std::string path = (dir / kDatabaseFile).string();
  auto writer = Database::Open(path, /*create=*/true);
  if (!writer) {
    return core::Err(writer.error());
  }
  if (core::Status s = ConfigureWriter(**writer); !s.ok()) {
    return core::Err(std::move(s));
  }
  if (core::Status s = sqlite::ApplyMigrations(**writer, "store", kStoreMigrations); !s.ok()) {
    return core::Err(std::move(s));
  }
  if (core::Status s = sqlite::ApplyMigrations(**writer, "membership",
                                               sqlite::SqliteMembershipStore::Migrations());
      !s.ok()) {
    return core::Err(std::move(s));
  }
  if (core::Status s =
          sqlite::ApplyMigrations(**writer, "coord", sqlite::SqliteCoordStore::Migrations());
      !s.ok()) {
    return core::Err(std::move(s));
  }
  auto reader = Database::Open(path, /*create=*/false);
  if (!reader) {
    return core::Err(reader.error());
  }
  if (core::Status s = ConfigureReader(**reader); !s.ok()) {
    return core::Err(std::move(s));
  }
  return std::make_unique<SqliteEmbeddedStore>(std::move(*writer), std::move(*reader),
                                               options.max_batch);
}

}  // namespace

core::Result<std::unique_ptr<EmbeddedStore>> EmbeddedStore::Open(
    const EmbeddedStoreOptions& options) {
  try {
    auto store = OpenStore(options);
    if (!store) {
      core::log::Error("store open failed",
                       {{"data_dir", options.data_dir}, {"error", store.error().ToString()}});
    }
    return store;
  } catch (const std::exception& e) {
    return core::Err(
        StoreUnavailable("cannot open the store in '" + options.data_dir + "': " + e.what()));
  }
}

}  // namespace agentmesh::store
