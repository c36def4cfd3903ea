// Names, the token sequencer and effects (see types.h).
#include "agentmesh/coord/types.h"

#include <algorithm>

namespace agentmesh::coord {

core::Status ValidateName(std::string_view name) {
  constexpr std::size_t kMaxName = 200;
  const auto bad = [&](std::string_view why) {
    return core::InvalidArgument("invalid_name", "Name '" + std::string(name.substr(0, kMaxName)) +
                                                     "' " + std::string(why) + ".");
  };
  if (name.empty() || name.size() > kMaxName) {
    return bad("must be 1 to 200 characters long");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '/' || c == '-';
    if (!ok) {
      return bad("may contain only letters, digits and . _ : / -");
    }
  }
  if (name.front() == '/' || name.back() == '/' || name.find("//") != std::string_view::npos) {
    return bad("must not start or end with '/' or contain '//'");
  }
  return core::OkStatus();
}

std::uint64_t Sequencer::Next() {
  ++last_;
  if (last_ > ceiling_) {
    ceiling_ = last_ - 1 + kBlock;
  }
  return last_;
}

void Sequencer::Restore(std::uint64_t ceiling) {
  last_ = ceiling;
  ceiling_ = ceiling;
  persisted_ceiling_ = ceiling;
}

std::string_view ObjectKindName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kSession:
      return "session";
    case ObjectKind::kLock:
      return "lock";
    case ObjectKind::kElection:
      return "election";
    case ObjectKind::kBarrier:
      return "barrier";
    case ObjectKind::kProposal:
      return "proposal";
    case ObjectKind::kCounters:
      return "counters";
  }
  return "unknown";
}

void Effects::Append(Effects&& other) {
  for (auto& d : other.dirty) {
    MarkDirty(d.kind, std::move(d.name));
  }
  std::move(other.wakeups.begin(), other.wakeups.end(), std::back_inserter(wakeups));
  std::move(other.events.begin(), other.events.end(), std::back_inserter(events));
}

void Effects::MarkDirty(ObjectKind kind, std::string name) {
  Dirty d{kind, std::move(name)};
  if (std::find(dirty.begin(), dirty.end(), d) == dirty.end()) {
    dirty.push_back(std::move(d));
  }
}

}  // namespace agentmesh::coord
