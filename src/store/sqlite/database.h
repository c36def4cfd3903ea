// A small RAII layer over the SQLite C API: Database, Statement, Transaction.
//
// Internal to store/sqlite. Every SQLite result code becomes a core::Status here:
// SQLITE_CORRUPT and SQLITE_NOTADB are kDataLoss ("store_corrupt"), everything else is
// kUnavailable ("store_unavailable"). Not thread-safe: a Database (and its statements)
// is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agentmesh/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace agentmesh::store::sqlite {

// Returns the Status for SQLite result `rc`; `what` says what was being done.
core::Status SqliteStatus(int rc, std::string_view what, std::string_view detail);

// A prepared statement. Bind errors are remembered and reported by the next Step().
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds parameter `index` (1-based). Text is copied by SQLite.
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, std::int64_t value);
  // Runs one step. Returns true when a row is available, false when done.
  core::Result<bool> Step();
  // Runs the statement to completion, discarding rows.
  core::Status Run();
  // Returns column `index` (0-based) of the current row.
  std::string_view ColumnText(int index) const;
  std::int64_t ColumnInt64(int index) const;
  // Makes the statement ready to run again and clears its bindings.
  void Reset();

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = 0;
};

// A cached statement borrowed for one scope; reset (ending any read it holds) on return.
class StatementLease {
 public:
  explicit StatementLease(Statement* stmt) : stmt_(stmt) {}
  StatementLease(StatementLease&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  StatementLease& operator=(StatementLease&&) = delete;
  StatementLease(const StatementLease&) = delete;
  StatementLease& operator=(const StatementLease&) = delete;
  ~StatementLease() {
    if (stmt_ != nullptr) {
      stmt_->Reset();
    }
  }

  Statement* operator->() const { return stmt_; }
  Statement& operator*() const { return *stmt_; }

 private:
  Statement* stmt_;
};

// One connection. Prepared statements can be cached per SQL text.
class Database {
 public:
  // Opens (creating when `create`) the database file at `path`.
  // Errors: kUnavailable when the file cannot be opened.
  static core::Result<std::unique_ptr<Database>> Open(const std::string& path, bool create);

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more SQL statements that return no rows needed by the caller.
  core::Status Exec(std::string_view sql);
  // Compiles `sql` into a new statement.
  core::Result<Statement> Prepare(std::string_view sql);
  // Returns the cached statement for `sql`, with no bindings, compiling it on first use.
  // The lease must end before the Database is destroyed.
  core::Result<StatementLease> Cached(std::string_view sql);
  // Returns true when no transaction is open.
  bool autocommit() const;
  // Returns the number of rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// A transaction that rolls back unless committed.
class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };

  // Begins a transaction on `db`, which must outlive it.
  static core::Result<Transaction> Begin(Database& db, Mode mode);

  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Commits; afterwards the transaction is finished whatever the outcome.
  core::Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  void Rollback();

  Database* db_;
};

}  // namespace agentmesh::store::sqlite
