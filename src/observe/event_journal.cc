#include "agentmesh/observe/event_journal.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

namespace agentmesh::observe {
namespace {

std::uint64_t SeedFromDevice() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

EventJournal::EventJournal(std::size_t capacity, std::optional<std::uint64_t> seed)
    : capacity_(std::max<std::size_t>(capacity, 1)), random_(seed ? *seed : SeedFromDevice()) {}

void EventJournal::Emit(core::Event event) {
  std::lock_guard lock(mu_);
  event.event_id = NewUuidV4(random_);
  event.version = ++total_;
  if (ring_.size() < capacity_) {
    ring_.push_back(std::move(event));
    return;
  }
  ring_[head_] = std::move(event);
  head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
}

std::vector<core::Event> EventJournal::Recent(std::size_t limit,
                                              std::string_view type_prefix) const {
  std::vector<core::Event> out;
  std::lock_guard lock(mu_);
  std::size_t n = ring_.size();
  // Walk from the newest backwards, then restore oldest-first order.
  for (std::size_t i = 0; i < n && out.size() < limit; ++i) {
    const core::Event& event = ring_[(head_ + n - 1 - i) % n];
    if (event.type.starts_with(type_prefix)) {
      out.push_back(event);
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::uint64_t EventJournal::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

std::string NewUuidV4(std::mt19937_64& random) {
  std::uint64_t hi = random();
  std::uint64_t lo = random();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10xx
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

std::string FormatRfc3339Millis(core::WallTime t) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(t);
  auto day = floor<days>(ms);
  year_month_day ymd(day);
  hh_mm_ss hms(ms - day);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(hms.subseconds().count()));
  return buf;
}

boost::json::object ToJson(const core::Event& event) {
  boost::json::object out;
  out["event_id"] = event.event_id;
  out["event_type"] = event.type;
  out["agent_id"] = event.agent_id;
  out["timestamp"] = FormatRfc3339Millis(event.timestamp);
  out["version"] = event.version;
  if (event.correlation_id.empty()) {
    out["correlation_id"] = nullptr;
  } else {
    out["correlation_id"] = event.correlation_id;
  }
  out["data"] = event.data;
  return out;
}

}  // namespace agentmesh::observe
