// Event and EventSink: how a building block tells the world that its state changed.
//
// Modules fill type, agent_id, timestamp, correlation_id and data; the sink assigns
// event_id (a UUID) and version (a per-sink sequence that only grows). Until the
// event bus exists the sink is observe::EventJournal. Emit() must be cheap and must
// not call back into the emitter; implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/object.hpp>

#include "agentmesh/core/clock.h"

namespace agentmesh::core {

struct Event {
  std::string event_id;        // UUID, set by the sink
  std::string type;            // dotted, e.g. "agent.health_changed"
  std::string agent_id;        // the instance or agent the event is about
  WallTime timestamp;          // when it happened, wall time
  std::uint64_t version = 0;   // sequence number, set by the sink
  std::string correlation_id;  // request that caused it, if any
  boost::json::object data;    // type-specific payload
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Records `event`; never blocks on IO.
  virtual void Emit(Event event) = 0;
};

}  // namespace agentmesh::core
