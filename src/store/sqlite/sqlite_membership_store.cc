#include "store/sqlite/sqlite_membership_store.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "store/sqlite/instance_json.h"

namespace agentmesh::store::sqlite {
namespace {

constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE agents("
     "id TEXT PRIMARY KEY, "
     "spec TEXT NOT NULL, "  // JSON, see instance_json.h
     "state TEXT NOT NULL, "
     "registered_at_ms INTEGER NOT NULL)"},
};

constexpr std::string_view kUpsert =
    "INSERT INTO agents(id, spec, state, registered_at_ms) VALUES(?1, ?2, ?3, ?4) "
    "ON CONFLICT(id) DO UPDATE SET spec = excluded.spec, state = excluded.state, "
    "registered_at_ms = excluded.registered_at_ms";
constexpr std::string_view kUpdateState = "UPDATE agents SET state = ?2 WHERE id = ?1";
constexpr std::string_view kDelete = "DELETE FROM agents WHERE id = ?1";
constexpr std::string_view kSelectAll =
    "SELECT spec, state, registered_at_ms FROM agents ORDER BY id";

core::Status Corrupt(std::string message) {
  return {core::StatusCode::kDataLoss, "store_corrupt", std::move(message)};
}

}  // namespace

std::span<const Migration> SqliteMembershipStore::Migrations() { return kMigrations; }

void SqliteMembershipStore::Put(const health::StoredInstance& instance, Done done) {
  std::string id = instance.spec.id;
  std::string spec = EncodeInstanceSpec(instance.spec);
  std::string state(health::HealthStateName(instance.state));
  const std::int64_t registered_at_ms = core::ToUnixMillis(instance.registered_at);
  writer_.Submit({[id = std::move(id), spec = std::move(spec), state = std::move(state),
                   registered_at_ms](Database& db) -> core::Status {
                    auto stmt = db.Cached(kUpsert);
                    if (!stmt) {
                      return stmt.error();
                    }
                    (*stmt)->Bind(1, id).Bind(2, spec).Bind(3, state).Bind(4, registered_at_ms);
                    return (*stmt)->Run();
                  },
                  std::move(done)});
}

void SqliteMembershipStore::PutState(const std::string& id, health::HealthState state, Done done) {
  writer_.Submit(
      {[id, state = std::string(health::HealthStateName(state))](Database& db) -> core::Status {
         auto stmt = db.Cached(kUpdateState);
         if (!stmt) {
           return stmt.error();
         }
         (*stmt)->Bind(1, id).Bind(2, state);
         return (*stmt)->Run();
       },
       std::move(done)});
}

void SqliteMembershipStore::Remove(const std::string& id, Done done) {
  writer_.Submit({[id](Database& db) -> core::Status {
                    auto stmt = db.Cached(kDelete);
                    if (!stmt) {
                      return stmt.error();
                    }
                    (*stmt)->Bind(1, id);
                    return (*stmt)->Run();
                  },
                  std::move(done)});
}

core::Result<std::vector<health::StoredInstance>> SqliteMembershipStore::LoadAll() {
  std::lock_guard lock(reader_mu_);
  auto stmt = reader_.Cached(kSelectAll);
  if (!stmt) {
    return core::Err(stmt.error());
  }
  std::vector<health::StoredInstance> out;
  for (;;) {
    auto row = (*stmt)->Step();
    if (!row) {
      return core::Err(row.error());
    }
    if (!*row) {
      return out;
    }
    auto spec = DecodeInstanceSpec((*stmt)->ColumnText(0));
    if (!spec) {
      return core::Err(spec.error());
    }
    auto state = health::ParseHealthState((*stmt)->ColumnText(1));
    if (!state) {
      return core::Err(Corrupt("agent '" + spec->id + "' has unknown state '" +
                               std::string((*stmt)->ColumnText(1)) + "'"));
    }
    health::StoredInstance instance;
    instance.spec = std::move(*spec);
    instance.state = *state;
    instance.registered_at = core::WallTime(std::chrono::milliseconds((*stmt)->ColumnInt64(2)));
    out.push_back(std::move(instance));
  }
}

}  // namespace agentmesh::store::sqlite
