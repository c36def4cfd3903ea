#include "store/sqlite/migrations.h"

#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "agentmesh/store/embedded_store.h"

#include "store_test_support.h"

namespace agentmesh::store::sqlite {
namespace {

using store::testing::TempDir;
using Row = std::tuple<std::string, std::int64_t, std::string>;

std::unique_ptr<Database> OpenDb(const TempDir& dir) {
  auto db = Database::Open((dir.path() / "agentmesh.db").string(), true);
  EXPECT_TRUE(db.has_value());
  return std::move(*db);
}

std::vector<Row> MigrationRows(Database& db) {
  auto stmt = db.Prepare(
      "SELECT module, version, applied_at FROM schema_migrations ORDER BY module, version");
  EXPECT_TRUE(stmt.has_value());
  std::vector<Row> rows;
  while (stmt->Step().value_or(false)) {
    rows.emplace_back(stmt->ColumnText(0), stmt->ColumnInt64(1), stmt->ColumnText(2));
  }
  return rows;
}

bool TableExists(Database& db, const std::string& name) {
  auto stmt = db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  EXPECT_TRUE(stmt.has_value());
  stmt->Bind(1, name);
  return stmt->Step().value_or(false);
}

TEST(MigrationsTest, ReopeningTheStoreAppliesNothingTwice) {
  TempDir dir;
  ASSERT_TRUE(EmbeddedStore::Open({.data_dir = dir.str()}).has_value());
  std::vector<Row> first = MigrationRows(*OpenDb(dir));
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(std::get<0>(first[0]), "coord");
  EXPECT_EQ(std::get<0>(first[1]), "membership");
  EXPECT_EQ(std::get<0>(first[2]), "store");
  EXPECT_FALSE(std::get<2>(first[0]).empty());

  ASSERT_TRUE(EmbeddedStore::Open({.data_dir = dir.str()}).has_value());
  EXPECT_EQ(MigrationRows(*OpenDb(dir)), first);
}

TEST(MigrationsTest, OnlyNewMigrationsRunOnALaterOpen) {
  TempDir dir;
  auto db = OpenDb(dir);
  const Migration v1[] = {{1, "CREATE TABLE t(a INTEGER)"}};
  ASSERT_TRUE(ApplyMigrations(*db, "m", v1).ok());
  ASSERT_TRUE(db->Exec("INSERT INTO t VALUES(42)").ok());

  const Migration v2[] = {{1, "CREATE TABLE t(a INTEGER)"}, {2, "ALTER TABLE t ADD b TEXT"}};
  ASSERT_TRUE(ApplyMigrations(*db, "m", v2).ok());
  auto stmt = db->Prepare("SELECT a, b FROM t");
  ASSERT_TRUE(stmt.has_value());
  ASSERT_TRUE(stmt->Step().value_or(false));
  EXPECT_EQ(stmt->ColumnInt64(0), 42);
  EXPECT_EQ(MigrationRows(*db).size(), 2u);
}

TEST(MigrationsTest, FailedMigrationLeavesNoTraceAndReportsTheError) {
  TempDir dir;
  auto db = OpenDb(dir);
  const Migration migrations[] = {{1, "CREATE TABLE t(a INTEGER)"},
                                  {2, "CREATE TABLE u(a); INSERT INTO missing VALUES(1)"}};
  core::Status s = ApplyMigrations(*db, "m", migrations);
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable);
  EXPECT_TRUE(TableExists(*db, "t"));
  EXPECT_FALSE(TableExists(*db, "u"));
  EXPECT_EQ(MigrationRows(*db).size(), 1u);
}

TEST(MigrationsTest, DatabaseFromANewerBinaryIsRefused) {
  TempDir dir;
  auto db = OpenDb(dir);
  const Migration newer[] = {{1, "CREATE TABLE t(a)"}, {2, "CREATE TABLE u(a)"}};
  ASSERT_TRUE(ApplyMigrations(*db, "m", newer).ok());
  const Migration older[] = {{1, "CREATE TABLE t(a)"}};
  core::Status s = ApplyMigrations(*db, "m", older);
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.reason(), "store_schema_too_new");
}

TEST(MigrationsTest, ModulesAreVersionedIndependently) {
  TempDir dir;
  auto db = OpenDb(dir);
  const Migration a[] = {{1, "CREATE TABLE a(x)"}, {2, "CREATE TABLE a2(x)"}};
  const Migration b[] = {{1, "CREATE TABLE b(x)"}};
  ASSERT_TRUE(ApplyMigrations(*db, "a", a).ok());
  ASSERT_TRUE(ApplyMigrations(*db, "b", b).ok());
  EXPECT_TRUE(TableExists(*db, "b"));
  EXPECT_EQ(MigrationRows(*db).size(), 3u);
}

}  // namespace
}  // namespace agentmesh::store::sqlite
