// CoordStore: the port through which coordination state becomes durable.
//
// The coordination cores name what changed (coord::Dirty); the shell snapshots each
// changed object as JSON and writes the batch here. Implemented by store/ (SQLite today).
// Write() applies all records of one call in one transaction and completes `done` after
// the commit (or failure), possibly on another thread; calls are committed in the order
// they were made. Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agentmesh/coord/types.h"
#include "agentmesh/core/status.h"

namespace agentmesh::coord {

struct StoredObject {
  ObjectKind kind = ObjectKind::kSession;
  std::string name;
  std::optional<std::string> json;  // the snapshot; nullopt deletes the object
};

class CoordStore {
 public:
  using Done = std::function<void(core::Status)>;
  virtual ~CoordStore() = default;

  // Upserts or deletes every object of `objects` in one transaction.
  virtual void Write(std::vector<StoredObject> objects, Done done) = 0;
  // Reads every stored object; used once at startup.
  virtual core::Result<std::vector<StoredObject>> LoadAll() = 0;
};

}  // namespace agentmesh::coord
