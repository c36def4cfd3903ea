// EmbeddedStore: the default, single-machine durable store (SQLite).
//
// One file `agentmesh.db` in the data directory, WAL mode, synchronous=FULL. All
// writes go through one writer thread that commits many requests per transaction
// (group commit) and completes each request's callback after the commit: acknowledged
// means durable, kill -9 included. Reads use their own connection and never wait for
// the writer. Each module's tables are created by numbered, forward-only migrations
// recorded in the store itself. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "agentmesh/coord/coord_store.h"
#include "agentmesh/core/status.h"
#include "agentmesh/health/membership_store.h"

namespace agentmesh::store {

struct EmbeddedStoreOptions {
  // Directory holding agentmesh.db; created when missing.
  std::string data_dir = "./agentmesh-data";
  // Most writes committed in one transaction.
  int max_batch = 1024;
};

struct EmbeddedStoreStats {
  std::uint64_t writes = 0;        // write requests committed
  std::uint64_t transactions = 0;  // SQLite transactions (fsyncs) that committed them
  std::uint64_t failures = 0;      // write requests that failed
};

class EmbeddedStore {
 public:
  // Opens or creates the store and runs pending migrations.
  // Errors: kUnavailable (reason "store_unavailable") when the directory or database
  // cannot be opened; kDataLoss when the database is corrupt.
  static core::Result<std::unique_ptr<EmbeddedStore>> Open(const EmbeddedStoreOptions& options);

  virtual ~EmbeddedStore() = default;

  // Registrations of agent instances.
  virtual health::MembershipStore& membership() = 0;
  // Sessions, locks, elections, barriers and proposals of the coordination cores.
  virtual coord::CoordStore& coord() = 0;
  // Returns this node's id: `configured` when non-empty (and persists it), else the id
  // persisted on first start, else a fresh random id that is persisted now.
  virtual core::Result<std::string> NodeId(std::string_view configured) = 0;
  // Blocks until every write submitted so far is committed.
  virtual void Flush() = 0;
  virtual EmbeddedStoreStats stats() const = 0;
};

}  // namespace agentmesh::store
