// W3C Trace Context (https://www.w3.org/TR/trace-context/): trace and span ids, the
// `traceparent` and `tracestate` headers, and id generation.
//
// Value types and pure functions owned by the observe module; the gateway parses the
// incoming headers with them and formats the ones it sends upstream. Everything here
// is stateless and thread-safe; NewTraceId/NewSpanId use the caller's Random, which is
// not thread-safe (one per IO thread).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "agentmesh/core/random.h"

namespace agentmesh::observe {

// An id of N bytes; all zero means "no id" (invalid on the wire).
template <std::size_t N>
struct TraceBytes {
  static constexpr std::size_t kSize = N;
  static constexpr std::size_t kHexSize = 2 * N;

  std::array<std::uint8_t, N> bytes{};

  // Returns whether any byte is non-zero.
  bool valid() const {
    for (std::uint8_t b : bytes) {
      if (b != 0) {
        return true;
      }
    }
    return false;
  }
  // Returns the id as 2*N lowercase hex digits.
  std::string Hex() const;
  // Writes the 2*N lowercase hex digits to `out` (no terminator).
  void WriteHex(char* out) const;
  // Parses exactly 2*N lowercase hex digits; nullopt otherwise (the all-zero id parses
  // and is reported by valid()).
  static std::optional<TraceBytes> FromHex(std::string_view hex);

  friend bool operator==(const TraceBytes&, const TraceBytes&) = default;
};

using TraceId = TraceBytes<16>;
using SpanId = TraceBytes<8>;

// Returns a random, valid (never all-zero) id.
TraceId NewTraceId(core::Random& random);
SpanId NewSpanId(core::Random& random);

// What a request carries in from its caller.
struct TraceContext {
  TraceId trace_id;
  SpanId parent_id;  // the caller's span
  bool sampled = false;
  std::string tracestate;  // already sanitized; empty when absent or dropped
};

// Parses a W3C traceparent header. Version 00 must be exactly 55 characters; a later
// version is accepted when its first four fields are well-formed (followed by the end
// or '-'), as the spec asks. Returns nullopt on anything invalid: uppercase hex, all-zero
// ids, version ff, bad lengths or separators. The caller then starts a new trace.
// The returned tracestate is empty: the caller fills it from SanitizeTracestate.
std::optional<TraceContext> ParseTraceparent(std::string_view value);

// Largest tracestate we propagate, in characters (the spec's 512 as a floor).
inline constexpr std::size_t kMaxTracestateLength = 512;
// Most list members in a tracestate (the spec's limit).
inline constexpr std::size_t kMaxTracestateMembers = 32;

// Returns `value` (trimmed of surrounding whitespace) when it is a valid tracestate per
// the spec: at most 32 list members, valid keys (simple or tenant@system) and values,
// no duplicate keys, at most 512 characters in total. Returns "" otherwise (dropped).
std::string SanitizeTracestate(std::string_view value);

// Length of a version-00 traceparent.
inline constexpr std::size_t kTraceparentLength = 55;

// Returns "00-<trace id>-<span id>-01" (or "-00" when not sampled).
std::string FormatTraceparent(const TraceId& trace_id, const SpanId& span_id, bool sampled);

}  // namespace agentmesh::observe

template <std::size_t N>
struct std::hash<agentmesh::observe::TraceBytes<N>> {
  std::size_t operator()(const agentmesh::observe::TraceBytes<N>& id) const noexcept {
    // Ids are random: their last 8 bytes are already a good hash.
    std::uint64_t word = 0;
    std::memcpy(&word, id.bytes.data() + N - sizeof(word), sizeof(word));
    return static_cast<std::size_t>(word);
  }
};
