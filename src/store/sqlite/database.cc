#include "store/sqlite/database.h"

#include <utility>

#include <sqlite3.h>

namespace agentmesh::store::sqlite {

core::Status SqliteStatus(int rc, std::string_view what, std::string_view detail) {
  std::string message = std::string(what) + " failed: " + sqlite3_errstr(rc);
  if (!detail.empty() && detail != sqlite3_errstr(rc)) {
    message += " (" + std::string(detail) + ")";
  }
  const int primary = rc & 0xff;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
    return {core::StatusCode::kDataLoss, "store_corrupt",
            message + "; restore the data directory from a backup or move it away"};
  }
  return core::Unavailable("store_unavailable", std::move(message));
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_rc_ = other.bind_rc_;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, std::string_view text) {
  const int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
  }
  return *this;
}

Statement& Statement::Bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
  }
  return *this;
}

core::Result<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    return core::Err(SqliteStatus(bind_rc_, "binding a parameter", sqlite3_errmsg(db_)));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  return core::Err(SqliteStatus(rc, "running a statement", sqlite3_errmsg(db_)));
}

core::Status Statement::Run() {
  for (;;) {
    auto row = Step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return core::OkStatus();
    }
  }
}

std::string_view Statement::ColumnText(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  if (text == nullptr) {
    return {};
  }
  return {text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index))};
}

std::int64_t Statement::ColumnInt64(int index) const { return sqlite3_column_int64(stmt_, index); }

void Statement::Reset() {
  // sqlite3_reset repeats the last step's error, which Step() has already reported.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

core::Result<std::unique_ptr<Database>> Database::Open(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (create) {
    flags |= SQLITE_OPEN_CREATE;
  }
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : path;
    sqlite3_close_v2(db);
    return core::Err(SqliteStatus(rc, "opening " + path, detail));
  }
  return std::unique_ptr<Database>(new Database(db));
}

Database::~Database() {
  cache_.clear();
  sqlite3_close_v2(db_);
}

core::Status Database::Exec(std::string_view sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) {
    return core::OkStatus();
  }
  std::string detail = error != nullptr ? error : "";
  sqlite3_free(error);
  return SqliteStatus(rc, "executing SQL", detail);
}

core::Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return core::Err(SqliteStatus(rc, "preparing a statement", sqlite3_errmsg(db_)));
  }
  return Statement(db_, stmt);
}

core::Result<StatementLease> Database::Cached(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end()) {
    return StatementLease(it->second.get());
  }
  auto stmt = Prepare(sql);
  if (!stmt) {
    return core::Err(stmt.error());
  }
  auto owned = std::make_unique<Statement>(std::move(*stmt));
  Statement* raw = owned.get();
  cache_.emplace(std::string(sql), std::move(owned));
  return StatementLease(raw);
}

bool Database::autocommit() const { return sqlite3_get_autocommit(db_) != 0; }

std::int64_t Database::changes() const { return sqlite3_changes64(db_); }

core::Result<Transaction> Transaction::Begin(Database& db, Mode mode) {
  core::Status s = db.Exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!s.ok()) {
    return core::Err(std::move(s));
  }
  return Transaction(&db);
}

Transaction::~Transaction() { Rollback(); }

core::Status Transaction::Commit() {
  if (db_ == nullptr) {
    return core::Internal("transaction_finished", "the transaction was already finished");
  }
  core::Status s = db_->Exec("COMMIT");
  Rollback();
  return s;
}

void Transaction::Rollback() {
  if (db_ != nullptr && !db_->autocommit()) {
    // A failed ROLLBACK leaves nothing to undo: SQLite has already rolled back.
    (void)db_->Exec("ROLLBACK");
  }
  db_ = nullptr;
}

}  // namespace agentmesh::store::sqlite
