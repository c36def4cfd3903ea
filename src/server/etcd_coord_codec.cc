// The etcd backend's key and value codecs and small helpers (see etcd_coord_internal.h).
#include <algorithm>
#include <charconv>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "server/etcd_coord_internal.h"

namespace agentmesh::server {

namespace json = boost::json;

namespace etcd_coord {

std::string LeaseHex(std::int64_t lease) {
  char buf[17];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), static_cast<std::uint64_t>(lease), 16);
  return std::string(buf, end);
}

std::optional<std::int64_t> ParseLeaseHex(std::string_view text) {
  if (text.empty() || text.size() > 16 ||
      text.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v, 16);
  if (v == 0 || LeaseHex(static_cast<std::int64_t>(v)) != text) {
    return std::nullopt;  // "0" and leading zeros name no lease
  }
  return static_cast<std::int64_t>(v);
}

core::Status UnknownSession(std::string_view id) {
  return core::NotFound("unknown_session",
                        "Session '" + std::string(id) + "' does not exist or has expired.");
}

core::Status NotHolder(std::string_view name, std::string_view session) {
  return core::FailedPrecondition(
      "not_holder",
      "Session '" + std::string(session) + "' does not hold lock '" + std::string(name) + "'.");
}

bool IsLeaseGone(const core::Status& status) {
  return status.reason() == "lease_not_found" ||
         status.message().find("lease not found") != std::string::npos;
}

LockValue ParseLockValue(std::string_view value) {
  LockValue out;
  boost::system::error_code ec;
  json::value v = json::parse(value, ec);
  if (ec || !v.is_object()) {
    return out;
  }
  const json::object& o = v.as_object();
  out.ours = true;
  if (const auto* m = o.if_contains("mode"); m != nullptr && m->is_string() && *m == "shared") {
    out.mode = coord::LockMode::kShared;
  }
  if (const auto* a = o.if_contains("agent"); a != nullptr && a->is_string()) {
    out.agent = std::string(a->as_string());
  }
  if (const auto* g = o.if_contains("granted"); g != nullptr && g->is_bool()) {
    out.granted = g->as_bool();
  }
  if (const auto* h = o.if_contains("hold_until_ms"); h != nullptr && h->is_int64()) {
    out.hold_until_ms = h->as_int64();
  }
  if (const auto* r = o.if_contains("renewals"); r != nullptr && r->is_int64()) {
    out.renewals = static_cast<int>(r->as_int64());
  }
  if (const auto* w = o.if_contains("wait_until_ms"); w != nullptr && w->is_int64()) {
    out.wait_until_ms = w->as_int64();
  }
  return out;
}

std::string EncodeLockValue(const LockValue& value) {
  return json::serialize(json::object{{"mode", coord::LockModeName(value.mode)},
                                      {"agent", value.agent},
                                      {"granted", value.granted},
                                      {"hold_until_ms", value.hold_until_ms},
                                      {"renewals", value.renewals},
                                      {"wait_until_ms", value.wait_until_ms}});
}

long long WallMs(core::Clock& clock) { return core::ToUnixMillis(clock.WallNow()); }

json::value RemainingMs(const LockValue& v, long long now_ms) {
  if (v.hold_until_ms == 0) {
    return nullptr;
  }
  return std::max<long long>(0, v.hold_until_ms - now_ms);
}

bool IsOrphan(const LockValue& value, long long now_ms) {
  return value.ours && !value.granted && value.wait_until_ms > 0 &&
         value.wait_until_ms + kOrphanGraceMs < now_ms;
}

bool FirstInLine(const std::vector<std::string_view>& values, std::size_t i, coord::LockMode mode,
                 long long now_ms) {
  for (std::size_t j = 0; j < i; ++j) {
    const LockValue older = ParseLockValue(values[j]);
    if (!IsOrphan(older, now_ms) && Conflicts(mode, older.mode)) {
      return false;
    }
  }
  return true;
}

std::vector<KeyRole> Roles(const std::vector<std::string_view>& values, long long now_ms) {
  // One pass, oldest first: a key conflicts with an older live exclusive key, and an
  // exclusive key with any older live key.
  std::vector<KeyRole> out;
  out.reserve(values.size());
  bool older_live = false;
  bool older_exclusive = false;
  for (const std::string_view value : values) {
    const LockValue v = ParseLockValue(value);
    if (IsOrphan(v, now_ms)) {
      out.push_back(KeyRole::kOrphan);
      continue;
    }
    const bool first_in_line =
        !older_exclusive && (v.mode == coord::LockMode::kShared || !older_live);
    out.push_back((v.granted || !v.ours) && first_in_line ? KeyRole::kHolder : KeyRole::kWaiter);
    older_live = true;
    older_exclusive = older_exclusive || v.mode == coord::LockMode::kExclusive;
  }
  return out;
}

std::string EncodeRecord(const json::object& snapshot, long long written_ms) {
  return json::serialize(json::object{{"state", snapshot}, {"written_ms", written_ms}});
}

std::optional<Record> ParseRecord(std::string_view value) {
  boost::system::error_code ec;
  json::value v = json::parse(value, ec);
  if (ec || !v.is_object()) {
    return std::nullopt;
  }
  const auto* state = v.as_object().if_contains("state");
  const auto* written = v.as_object().if_contains("written_ms");
  if (state == nullptr || !state->is_object() || written == nullptr || !written->is_int64()) {
    return std::nullopt;
  }
  return Record{state->as_object(), written->as_int64()};
}

}  // namespace etcd_coord

}  // namespace agentmesh::server
