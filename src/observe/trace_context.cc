#include "agentmesh/observe/trace_context.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "agentmesh/core/text.h"

namespace agentmesh::observe {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
// Both hex digits of every byte value: a byte is written with one two-byte copy.
constexpr std::array<std::array<char, 2>, 256> kHexPairs = [] {
  std::array<std::array<char, 2>, 256> pairs{};
  for (std::size_t b = 0; b < pairs.size(); ++b) {
    pairs[b] = {kHexDigits[b >> 4], kHexDigits[b & 0x0f]};
  }
  return pairs;
}();

// Value of each lowercase hex digit; -1 for every other byte (uppercase included).
constexpr std::array<std::int8_t, 256> kHexValues = [] {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (int i = 0; i < 10; ++i) {
    table['0' + i] = static_cast<std::int8_t>(i);
  }
  for (int i = 0; i < 6; ++i) {
    table['a' + i] = static_cast<std::int8_t>(10 + i);
  }
  return table;
}();

// Decodes 2*n lowercase hex digits at `in` into n bytes at `out`; false on a bad digit.
bool DecodeHex(const char* in, std::size_t n, std::uint8_t* out) {
  int bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int hi = kHexValues[static_cast<unsigned char>(in[2 * i])];
    const int lo = kHexValues[static_cast<unsigned char>(in[2 * i + 1])];
    bad |= hi | lo;  // negative when any digit was not lowercase hex
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return bad >= 0;
}

template <std::size_t N>
TraceBytes<N> NewId(core::Random& random) {
  TraceBytes<N> id;
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      const std::uint64_t word = random.Next();
      std::memcpy(id.bytes.data() + i, &word, std::min<std::size_t>(8, N - i));
    }
  } while (!id.valid());
  return id;
}

// Field widths of "vv-tttt...-pppp...-ff".
constexpr std::size_t kVersionEnd = 2;
constexpr std::size_t kTraceIdStart = 3;
constexpr std::size_t kSpanIdStart = kTraceIdStart + TraceId::kHexSize + 1;
constexpr std::size_t kFlagsStart = kSpanIdStart + SpanId::kHexSize + 1;
constexpr std::uint8_t kSampledFlag = 0x01;
constexpr std::uint8_t kInvalidVersion = 0xff;

bool IsLcAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsKeyChar(char c) {
  return IsLcAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}
using core::TrimOws;

// simple-key = lcalpha 0*255(keychar); tenant = (lcalpha/DIGIT) 0*240(keychar);
// system = lcalpha 0*13(keychar).
bool ValidKeyPart(std::string_view part, std::size_t max_size, bool digit_first) {
  if (part.empty() || part.size() > max_size) {
    return false;
  }
  if (!IsLcAlpha(part[0]) && !(digit_first && IsDigit(part[0]))) {
    return false;
  }
  return std::all_of(part.begin() + 1, part.end(), IsKeyChar);
}

bool ValidKey(std::string_view key) {
  constexpr std::size_t kMaxSimpleKey = 256;
  constexpr std::size_t kMaxTenant = 241;
  constexpr std::size_t kMaxSystem = 14;
  const std::size_t at = key.find('@');
  if (at == std::string_view::npos) {
    return ValidKeyPart(key, kMaxSimpleKey, false);
  }
  return ValidKeyPart(key.substr(0, at), kMaxTenant, true) &&
         ValidKeyPart(key.substr(at + 1), kMaxSystem, false);
}

// value = 0*255(chr) nblk-chr; chr = ' ' / nblk-chr; nblk-chr = printable except ',' '='.
bool ValidValue(std::string_view value) {
  constexpr std::size_t kMaxValue = 256;
  if (value.empty() || value.size() > kMaxValue || value.back() == ' ') {
    return false;
  }
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

}  // namespace

template <std::size_t N>
void TraceBytes<N>::WriteHex(char* out) const {
  for (std::uint8_t b : bytes) {
    std::memcpy(out, kHexPairs[b].data(), 2);
    out += 2;
  }
}

template <std::size_t N>
std::string TraceBytes<N>::Hex() const {
  std::string out(kHexSize, '0');
  WriteHex(out.data());
  return out;
}

template <std::size_t N>
std::optional<TraceBytes<N>> TraceBytes<N>::FromHex(std::string_view hex) {
  if (hex.size() != kHexSize) {
    return std::nullopt;
  }
  TraceBytes id;
  if (!DecodeHex(hex.data(), N, id.bytes.data())) {
    return std::nullopt;
  }
  return id;
}

template struct TraceBytes<16>;
template struct TraceBytes<8>;

TraceId NewTraceId(core::Random& random) { return NewId<TraceId::kSize>(random); }
SpanId NewSpanId(core::Random& random) { return NewId<SpanId::kSize>(random); }

std::optional<TraceContext> ParseTraceparent(std::string_view value) {
  if (value.size() < kTraceparentLength || value[kVersionEnd] != '-' ||
      value[kSpanIdStart - 1] != '-' || value[kFlagsStart - 1] != '-') {
    return std::nullopt;
  }
  std::uint8_t version = 0;
  std::uint8_t flags = 0;
  if (!DecodeHex(value.data(), 1, &version) || version == kInvalidVersion) {
    return std::nullopt;
  }
  // Version 00 has exactly four fields; a later version may append "-..." fields.
  if (version == 0 ? value.size() != kTraceparentLength
                   : value.size() > kTraceparentLength && value[kTraceparentLength] != '-') {
    return std::nullopt;
  }
  std::optional<TraceContext> ctx(std::in_place);
  if (!DecodeHex(value.data() + kTraceIdStart, TraceId::kSize, ctx->trace_id.bytes.data()) ||
      !DecodeHex(value.data() + kSpanIdStart, SpanId::kSize, ctx->parent_id.bytes.data()) ||
      !DecodeHex(value.data() + kFlagsStart, 1, &flags) || !ctx->trace_id.valid() ||
      !ctx->parent_id.valid()) {
    return std::nullopt;
  }
  ctx->sampled = (flags & kSampledFlag) != 0;
  return ctx;
}

std::string SanitizeTracestate(std::string_view value) {
  value = TrimOws(value);
  if (value.size() > kMaxTracestateLength) {
    return {};
  }
  std::array<std::string_view, kMaxTracestateMembers> keys;
  std::size_t count = 0;
  std::string_view rest = value;
  bool more = !rest.empty();
  while (more) {
    const std::size_t comma = rest.find(',');
    const std::string_view member = TrimOws(rest.substr(0, comma));
    more = comma != std::string_view::npos;
    rest = more ? rest.substr(comma + 1) : std::string_view();
    if (member.empty()) {
      continue;
    }
    const std::size_t eq = member.find('=');
    if (eq == std::string_view::npos) {
      return {};
    }
    const std::string_view key = member.substr(0, eq);
    if (!ValidKey(key) || !ValidValue(member.substr(eq + 1)) ||
        std::find(keys.begin(), keys.begin() + count, key) != keys.begin() + count ||
        count == kMaxTracestateMembers) {
      return {};
    }
    keys[count++] = key;
  }
  return std::string(value);
}

std::string FormatTraceparent(const TraceId& trace_id, const SpanId& span_id, bool sampled) {
  std::string out(kTraceparentLength, '-');
  out[0] = '0';
  out[1] = '0';
  trace_id.WriteHex(out.data() + kTraceIdStart);
  span_id.WriteHex(out.data() + kSpanIdStart);
  out[kFlagsStart] = '0';
  out[kFlagsStart + 1] = sampled ? '1' : '0';
  return out;
}

}  // namespace agentmesh::observe
