// The gateway's own reading of the upstream response heads it sees almost always: HTTP/1.x
// with a Content-Length and nothing unusual. Beast's parser validates and indexes every
// field, which costs several times what the gateway needs; any head outside this plain
// form still goes to Beast. Also: the one list of header fields the gateway never forwards
// as they came, for requests and responses alike. Not a public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agentmesh/core/thread_cache.h"

namespace agentmesh::server::internal {

// How the gateway treats a header field, by its name.
enum class FieldRole : std::uint8_t {
  kRelay,             // forwarded as it came
  kControlled,        // hop-by-hop (RFC 9110 7.6.1), or a field the gateway sets itself
  kConnection,        // hop-by-hop; its options name further hop-by-hop fields
  kContentLength,     // framing: the gateway frames what it forwards
  kTransferEncoding,  // framing
};

// The role of the field called `name`, in any case. `name` is a token (RFC 9110 5.6.2).
FieldRole RoleOf(std::string_view name);

// Whether a Connection value (several fields' values joined by commas) has an option
// other than "close" and "keep-alive": such options name more fields to drop.
bool ConnectionNamesFields(std::string_view value);

// Text whose storage comes from the thread's block cache.
using HeadText = std::basic_string<char, std::char_traits<char>, core::ThreadCacheAllocator<char>>;

// Appends the field line "name: value\r\n" to `out`.
template <typename Text>
void AppendField(Text& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ", 2);
  out.append(value);
  out.append("\r\n", 2);
}

// What the gateway needs of a plain response head.
struct PlainHead {
  int status = 0;
  std::string_view reason;  // may be empty; points into the scanned bytes
  std::uint64_t content_length = 0;
  bool keep_alive = true;  // the upstream connection may carry another exchange
  std::size_t size = 0;    // bytes of the head, its blank line included
};

enum class HeadScan {
  kPlain,       // `head` and the relayed fields are filled in
  kIncomplete,  // the bytes end before the head does, and are plain so far
  kNotPlain,    // Beast must parse these bytes
};

// Scans the response head at the start of `data`. Plain means: "HTTP/1.0" or "HTTP/1.1";
// a status of 200 to 599 other than 204 and 304 (so the body is exactly Content-Length
// bytes); a reason phrase after one space; exactly one Content-Length, all digits, at most
// `max_length`; no Transfer-Encoding; Connection options "close" and "keep-alive" only; and
// every line well-formed, ending in CRLF, with no obs-fold and no control character other
// than HTAB. A plain head's fields to relay (RoleOf kRelay) are appended to `relayed` as
// "Name: value\r\n", in the order received, optional whitespace trimmed; `relayed` is
// cleared first, and holds nothing of use unless the answer is kPlain.
HeadScan ScanPlainResponseHead(std::string_view data, std::uint64_t max_length, PlainHead& head,
                               HeadText& relayed);

}  // namespace agentmesh::server::internal
