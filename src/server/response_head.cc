// The gateway's plain response heads and field roles (see response_head.h).
#include "server/response_head.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "agentmesh/core/text.h"
#include "agentmesh/resilience/deadline.h"

namespace agentmesh::server::internal {
namespace {

using namespace std::string_view_literals;

struct NamedRole {
  std::string_view name;
  FieldRole role = FieldRole::kRelay;
};

// Every field whose role is not kRelay.
constexpr std::array kNamedRoles{
    NamedRole{"connection", FieldRole::kConnection},
    NamedRole{"content-length", FieldRole::kContentLength},
    NamedRole{"transfer-encoding", FieldRole::kTransferEncoding},
    // Hop-by-hop.
    NamedRole{"keep-alive", FieldRole::kControlled},
    NamedRole{"proxy-connection", FieldRole::kControlled},
    NamedRole{"te", FieldRole::kControlled},
    NamedRole{"trailer", FieldRole::kControlled},
    NamedRole{"upgrade", FieldRole::kControlled},
    NamedRole{"proxy-authorization", FieldRole::kControlled},
    NamedRole{"proxy-authenticate", FieldRole::kControlled},
    // Set by the gateway.
    NamedRole{"host", FieldRole::kControlled},
    NamedRole{"expect", FieldRole::kControlled},
    NamedRole{"x-correlation-id", FieldRole::kControlled},
    NamedRole{"traceparent", FieldRole::kControlled},
    NamedRole{"tracestate", FieldRole::kControlled},
    NamedRole{resilience::kDeadlineHeader, FieldRole::kControlled},
    NamedRole{resilience::kCallDepthHeader, FieldRole::kControlled},
};

// kNamedRoles by name length: a lookup compares at most a few names.
constexpr std::size_t kMaxNamedSize = 24;
constexpr std::size_t kMaxSameSize = 3;
struct SizeBucket {
  std::array<NamedRole, kMaxSameSize> roles{};
  std::size_t count = 0;
};
constexpr std::array<SizeBucket, kMaxNamedSize> kRolesBySize = [] {
  std::array<SizeBucket, kMaxNamedSize> buckets{};
  for (const NamedRole& named : kNamedRoles) {
    SizeBucket& bucket = buckets.at(named.name.size());  // a compile error when too long
    bucket.roles.at(bucket.count++) = named;             // ... or too many of one size
  }
  return buckets;
}();

std::uint64_t Load64(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

std::uint32_t Load32(const char* p) {
  std::uint32_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

// Whether a name starting with the byte may be in kNamedRoles: most relayed names are
// ruled out by their first letter.
constexpr std::array<bool, 256> kMayBeNamed = [] {
  std::array<bool, 256> first{};
  for (const NamedRole& named : kNamedRoles) {
    const auto c = static_cast<unsigned char>(named.name.front());  // a letter
    first[c | 0x20] = true;
    first[c & ~0x20] = true;
  }
  return first;
}();

// Whether the tokens `a` and `b`, of equal size, are equal in any case. Bit 5 is what
// tells a letter's cases apart; of the other token characters, none differs from a letter
// or '-' in that bit alone. A word at a time, the last one overlapping.
bool SameToken(std::string_view a, std::string_view b) {
  constexpr std::uint64_t kCase64 = 0x2020202020202020;
  constexpr std::uint32_t kCase32 = 0x20202020;
  const std::size_t n = a.size();
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (((Load64(x + i) ^ Load64(y + i)) & ~kCase64) != 0) {
        return false;
      }
    }
    return ((Load64(x + n - 8) ^ Load64(y + n - 8)) & ~kCase64) == 0;
  }
  if (n >= 4) {
    return ((Load32(x) ^ Load32(y)) & ~kCase32) == 0 &&
           ((Load32(x + n - 4) ^ Load32(y + n - 4)) & ~kCase32) == 0;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (((a[i] ^ b[i]) & ~0x20) != 0) {
      return false;
    }
  }
  return true;
}

// RFC 9110 5.6.2 tchar.
constexpr std::array<bool, 256> kTokenChar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) {
    t[c] = true;
  }
  for (int c = 'a'; c <= 'z'; ++c) {
    t[c] = true;
    t[c - 'a' + 'A'] = true;
  }
  for (char c : "!#$%&'*+-.^_`|~"sv) {
    t[static_cast<unsigned char>(c)] = true;
  }
  return t;
}();

// Bit i of each mask stands for byte i of a block of up to 16 bytes.
struct BlockMasks {
  std::uint32_t lf = 0;
  std::uint32_t cr = 0;
  std::uint32_t bad = 0;  // control characters other than LF, CR and HTAB
};

constexpr std::size_t kBlock = 16;

// Classifies the kBlock bytes at `p`.
BlockMasks Classify(const char* p) {
  BlockMasks m;
#if defined(__SSE2__)
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const auto mask = [](__m128i v) { return static_cast<std::uint32_t>(_mm_movemask_epi8(v)); };
  const __m128i below_space = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1F)), x);
  const std::uint32_t control =
      mask(_mm_or_si128(below_space, _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7F))));
  m.lf = mask(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')));
  m.cr = mask(_mm_cmpeq_epi8(x, _mm_set1_epi8('\r')));
  const std::uint32_t tab = mask(_mm_cmpeq_epi8(x, _mm_set1_epi8('\t')));
  m.bad = control & ~(m.lf | m.cr | tab);
#else
  const auto is_control = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; };
  for (std::size_t i = 0; i < kBlock; ++i) {
    const std::uint32_t bit = std::uint32_t{1} << i;
    if (p[i] == '\n') {
      m.lf |= bit;
    } else if (p[i] == '\r') {
      m.cr |= bit;
    } else if (p[i] != '\t' && is_control(p[i])) {
      m.bad |= bit;
    }
  }
#endif
  return m;
}

// A plain head has at most this many lines; a longer one goes to Beast.
constexpr std::size_t kMaxLines = 64;

// Where the lines of a head end: the offset of each line's LF.
struct HeadLines {
  std::array<std::uint32_t, kMaxLines> lf;  // the first `count` are set
  std::size_t count = 0;
};

// Finds the lines of the head at the start of `data`, up to the blank line that ends it,
// and checks on the way that its only control characters are HTABs and the CRLFs that end
// lines. kPlain when the head is complete (the rest is for the caller to check).
HeadScan FindLines(std::string_view data, HeadLines& lines) {
  const char* const b = data.data();
  const std::size_t n = data.size();
  if (n >= 7 && std::memcmp(b, "HTTP/1.", 7) != 0) {
    return HeadScan::kNotPlain;  // no need to wait for the rest
  }
  std::uint32_t cr_before = 0;  // 1 when the previous block ended in CR
  for (std::size_t at = 0; at < n; at += kBlock) {
    const std::size_t size = std::min(kBlock, n - at);
    BlockMasks m;
    if (size == kBlock) {
      m = Classify(b + at);
    } else {
      std::array<char, kBlock> tail{};
      std::memcpy(tail.data(), b + at, size);
      m = Classify(tail.data());
    }
    // The bytes that count: the block's, up to the head's end if that is in it.
    std::uint32_t counted = (std::uint32_t{1} << size) - 1;
    bool ended = false;
    for (std::uint32_t lf = m.lf & counted; lf != 0; lf &= lf - 1) {
      const std::size_t k = at + static_cast<std::size_t>(std::countr_zero(lf));
      if (lines.count == kMaxLines) {
        return HeadScan::kNotPlain;
      }
      lines.lf[lines.count++] = static_cast<std::uint32_t>(k);
      if (lines.count >= 2 && lines.lf[lines.count - 2] + 2 == k) {  // an empty line
        counted = (std::uint32_t{2} << (k - at)) - 1;
        ended = true;
        break;
      }
    }
    // Each LF comes right after a CR, and each CR right before an LF.
    const std::uint32_t after_cr = (m.cr << 1) | cr_before;
    if ((((after_cr ^ m.lf) | m.bad) & counted) != 0) {
      return HeadScan::kNotPlain;
    }
    if (ended) {
      return HeadScan::kPlain;
    }
    cr_before = (m.cr >> (kBlock - 1)) & 1;
  }
  return HeadScan::kIncomplete;
}

using core::IsOws;
using core::TrimOws;

// Reads a Connection value. False when it has an option other than "close" and
// "keep-alive": that option names a field to drop, which Beast's path handles.
bool ReadConnection(std::string_view value, bool& close, bool& keep_alive) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view option = TrimOws(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    if (option.size() == 5 && SameToken(option, "close"sv)) {
      close = true;
    } else if (option.size() == 10 && SameToken(option, "keep-alive"sv)) {
      keep_alive = true;
    } else if (!option.empty()) {
      return false;
    }
  }
  return true;
}

// Reads a Content-Length value: digits only, at most `max`.
bool ReadLength(std::string_view value, std::uint64_t max, std::uint64_t& length) {
  constexpr std::size_t kMaxDigits = 19;  // below 2^64 whatever the digits
  if (value.empty() || value.size() > kMaxDigits) {
    return false;
  }
  std::uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') {
      return false;
    }
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  length = n;
  return n <= max;
}

}  // namespace

bool ConnectionNamesFields(std::string_view value) {
  bool close = false;
  bool keep_alive = false;
  return !ReadConnection(value, close, keep_alive);
}

FieldRole RoleOf(std::string_view name) {
  if (name.empty() || name.size() >= kMaxNamedSize ||
      !kMayBeNamed[static_cast<unsigned char>(name.front())]) {
    return FieldRole::kRelay;
  }
  const SizeBucket& bucket = kRolesBySize[name.size()];
  for (std::size_t i = 0; i < bucket.count; ++i) {
    if (SameToken(name, bucket.roles[i].name)) {
      return bucket.roles[i].role;
    }
  }
  return FieldRole::kRelay;
}

HeadScan ScanPlainResponseHead(std::string_view data, std::uint64_t max_length, PlainHead& head,
                               HeadText& relayed) {
  relayed.clear();
  HeadLines lines;
  if (const HeadScan found = FindLines(data, lines); found != HeadScan::kPlain) {
    return found;
  }
  // Every line is known to end in CRLF and to hold no control character but HTAB.
  const char* const begin = data.data();
  // "HTTP/1.1 200 " (or 1.0), then the reason phrase.
  constexpr std::size_t kStatusPrefix = 13;
  const std::size_t status_cr = lines.lf[0] - 1;
  if (status_cr < kStatusPrefix || (begin[7] != '1' && begin[7] != '0') || begin[8] != ' ' ||
      begin[12] != ' ') {
    return HeadScan::kNotPlain;
  }
  const bool http11 = begin[7] == '1';
  int status = 0;
  for (const char* d = begin + 9; d != begin + 12; ++d) {
    if (*d < '0' || *d > '9') {
      return HeadScan::kNotPlain;
    }
    status = status * 10 + (*d - '0');
  }
  if (status < 200 || status > 599 || status == 204 || status == 304) {
    return HeadScan::kNotPlain;
  }

  bool have_length = false;
  std::uint64_t length = 0;
  bool close = false;
  bool keep_alive = false;
  // Relayed lines already in canonical form ("Name: value\r\n") are appended in runs.
  const char* run = nullptr;
  const auto flush_run = [&](const char* upto) {
    if (run != nullptr) {
      relayed.append(run, static_cast<std::size_t>(upto - run));
      run = nullptr;
    }
  };
  // The field lines: all but the first and the last (blank) one.
  for (std::size_t j = 1; j + 1 < lines.count; ++j) {
    const char* const line = begin + lines.lf[j - 1] + 1;
    const char* const cr = begin + lines.lf[j] - 1;
    // The name ends at the CR at the latest, and at least the blank line's CRLF follows
    // that CR, so reading four bytes at a time stays inside the head.
    const char* p = line;
    while ((kTokenChar[static_cast<unsigned char>(p[0])] &
            kTokenChar[static_cast<unsigned char>(p[1])] &
            kTokenChar[static_cast<unsigned char>(p[2])] &
            kTokenChar[static_cast<unsigned char>(p[3])]) != 0) {
      p += 4;
    }
    while (kTokenChar[static_cast<unsigned char>(*p)]) {
      ++p;
    }
    if (*p != ':' || p == line) {
      return HeadScan::kNotPlain;  // also an obs-fold, which starts with whitespace
    }
    const std::string_view name(line, static_cast<std::size_t>(p - line));
    ++p;
    while (IsOws(*p)) {
      ++p;
    }
    const char* const value_begin = p;
    const char* value_end = cr;
    while (value_end != value_begin && IsOws(value_end[-1])) {
      --value_end;
    }
    const std::string_view value(value_begin, static_cast<std::size_t>(value_end - value_begin));
    switch (RoleOf(name)) {
      case FieldRole::kRelay:
        if (value_end == cr && value_begin == line + name.size() + 2 &&
            line[name.size() + 1] == ' ') {
          if (run == nullptr) {
            run = line;
          }
        } else {
          flush_run(line);
          AppendField(relayed, name, value);
        }
        continue;
      case FieldRole::kControlled:
        break;
      case FieldRole::kConnection:
        if (!ReadConnection(value, close, keep_alive)) {
          return HeadScan::kNotPlain;
        }
        break;
      case FieldRole::kContentLength:
        if (have_length || !ReadLength(value, max_length, length)) {
          return HeadScan::kNotPlain;
        }
        have_length = true;
        break;
      case FieldRole::kTransferEncoding:
        return HeadScan::kNotPlain;
    }
    flush_run(line);
  }
  const std::size_t blank = lines.lf[lines.count - 1] - 1;
  flush_run(begin + blank);
  if (!have_length) {
    return HeadScan::kNotPlain;
  }
  head.status = status;
  head.reason = std::string_view(begin + kStatusPrefix, status_cr - kStatusPrefix);
  head.content_length = length;
  head.keep_alive = !close && (http11 || keep_alive);
  head.size = blank + 2;
  return HeadScan::kPlain;
}

}  // namespace agentmesh::server::internal
