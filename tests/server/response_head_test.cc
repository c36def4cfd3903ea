// The gateway's own reading of plain upstream response heads, checked against the rules
// and against Beast's parser, which reads every head that is not plain.
#include "server/response_head.h"

#include <string>
#include <vector>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <gtest/gtest.h>

#include "agentmesh/resilience/deadline.h"

#include "testing/upstream_heads.h"

namespace agentmesh::server::internal {
namespace {

namespace http = boost::beast::http;

constexpr std::uint64_t kMax = 64 * 1024;

const std::string kNginxHead(testing::kNginxSmallHead);

struct Scanned {
  HeadScan result;
  PlainHead head;  // its reason is not kept: see `reason`
  std::string reason;
  std::string relayed;
};

Scanned Scan(std::string_view data, std::uint64_t max_length = kMax) {
  Scanned s;
  HeadText relayed;
  s.result = ScanPlainResponseHead(data, max_length, s.head, relayed);
  s.reason = s.head.reason;
  s.head.reason = {};
  s.relayed.assign(relayed.data(), relayed.size());
  return s;
}

TEST(FieldRoleTest, NamesTheFieldsTheGatewayNeverForwardsAsTheyCameInAnyCase) {
  EXPECT_EQ(RoleOf("Connection"), FieldRole::kConnection);
  EXPECT_EQ(RoleOf("CONNECTION"), FieldRole::kConnection);
  EXPECT_EQ(RoleOf("content-length"), FieldRole::kContentLength);
  EXPECT_EQ(RoleOf("Content-LENGTH"), FieldRole::kContentLength);
  EXPECT_EQ(RoleOf("Transfer-Encoding"), FieldRole::kTransferEncoding);
  for (std::string_view name :
       {"Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade", "Proxy-Authorization",
        "Proxy-Authenticate", "Host", "Expect", "X-Correlation-ID", "traceparent", "TraceState",
        "x-agentmesh-deadline-ms", "X-AGENTMESH-CALL-DEPTH"}) {
    EXPECT_EQ(RoleOf(name), FieldRole::kControlled) << name;
  }
  EXPECT_EQ(RoleOf(resilience::kDeadlineHeader), FieldRole::kControlled);
  EXPECT_EQ(RoleOf(resilience::kCallDepthHeader), FieldRole::kControlled);
}

TEST(FieldRoleTest, RelaysEveryOtherFieldIncludingNearMisses) {
  for (std::string_view name :
       {"Server", "Date", "Content-Type", "X-Request-ID", "Content-Lengths", "Connectio", "T",
        "TEE", "Hosts", "X-Correlation-IE", "traceparenT-x", "Content_Length", "Upgrade-Insecure",
        "X-Agentmesh-Deadline-Mx", "A-Very-Long-Field-Name-Beyond-The-Table"}) {
    EXPECT_EQ(RoleOf(name), FieldRole::kRelay) << name;
  }
}

TEST(FieldRoleTest, AConnectionValueNamesFieldsWhenItHasOtherOptionsThanCloseAndKeepAlive) {
  for (std::string_view value : {"", "close", "Keep-Alive", " keep-alive , CLOSE ", ",,close,"}) {
    EXPECT_FALSE(ConnectionNamesFields(value)) << value;
  }
  for (std::string_view value : {"X-Hop", "close, X-Hop", "keep-alive,upgrade", "clos e"}) {
    EXPECT_TRUE(ConnectionNamesFields(value)) << value;
  }
}

TEST(ResponseHeadTest, ReadsAPlainHeadAndKeepsTheFieldsToRelayInOrder) {
  const Scanned s = Scan(kNginxHead + std::string(testing::kNginxSmallBody));
  ASSERT_EQ(s.result, HeadScan::kPlain);
  EXPECT_EQ(s.head.status, 200);
  EXPECT_EQ(s.reason, "OK");
  EXPECT_EQ(s.head.content_length, 3u);
  EXPECT_TRUE(s.head.keep_alive);
  EXPECT_EQ(s.head.size, kNginxHead.size());
  EXPECT_EQ(s.relayed,
            "Server: nginx/1.22.1\r\n"
            "Date: Fri, 27 Nov 2026 13:54:28 GMT\r\n"
            "Content-Type: text/plain\r\n");
}

TEST(ResponseHeadTest, EveryPrefixOfAHeadIsIncomplete) {
  const std::string heads[] = {
      kNginxHead,
      "HTTP/1.0 503 Service Unavailable\r\nX-A:a\r\nContent-Length:  12 \r\nX-B: \t b \t\r\n\r\n",
  };
  for (const std::string& head : heads) {
    for (std::size_t n = 0; n < head.size(); ++n) {
      EXPECT_EQ(Scan(std::string_view(head).substr(0, n)).result, HeadScan::kIncomplete)
          << "first " << n << " bytes of " << head;
    }
    const Scanned whole = Scan(head);
    EXPECT_EQ(whole.result, HeadScan::kPlain) << head;
    EXPECT_EQ(whole.head.size, head.size());
  }
}

TEST(ResponseHeadTest, TheBodyAfterTheHeadIsNotItsBusiness) {
  const Scanned s = Scan(kNginxHead + std::string("\0\x01\r\r\n\x7f\n\n", 8));
  ASSERT_EQ(s.result, HeadScan::kPlain);
  EXPECT_EQ(s.head.size, kNginxHead.size());
}

TEST(ResponseHeadTest, LinesAreFoundWhereverTheyFallAgainstTheScansBlocks) {
  // A padding field of every length moves each CRLF across every block offset.
  for (std::size_t pad = 0; pad < 40; ++pad) {
    const std::string head = "HTTP/1.1 201 Created\r\nX-Pad: " + std::string(pad, 'p') +
                             "\r\nX-Next: n\r\nContent-Length: 0\r\n\r\n";
    const Scanned s = Scan(head);
    ASSERT_EQ(s.result, HeadScan::kPlain) << pad;
    EXPECT_EQ(s.head.size, head.size());
    EXPECT_EQ(s.relayed, "X-Pad: " + std::string(pad, 'p') + "\r\nX-Next: n\r\n");
    // A CR not followed by LF, and an LF without its CR, at the same places.
    std::string bare_cr = head;
    bare_cr.replace(head.find("\r\nX-Next"), 2, "\rX");
    EXPECT_EQ(Scan(bare_cr).result, HeadScan::kNotPlain) << pad;
    std::string bare_lf = head;
    bare_lf.replace(head.find("\r\nX-Next"), 2, "X\n");
    EXPECT_EQ(Scan(bare_lf).result, HeadScan::kNotPlain) << pad;
  }
}

TEST(ResponseHeadTest, WritesFieldsWithOptionalWhitespaceTrimmed) {
  const Scanned s = Scan(
      "HTTP/1.1 200 OK\r\n"
      "X-A:value \r\n"
      "X-B:\t v\t\r\n"
      "X-C:\r\n"
      "X-D: a\tb  c\r\n"
      "X-E: \r\n"
      "Content-Length: 0\r\n\r\n");
  ASSERT_EQ(s.result, HeadScan::kPlain);
  EXPECT_EQ(s.relayed, "X-A: value\r\nX-B: v\r\nX-C: \r\nX-D: a\tb  c\r\nX-E: \r\n");
}

TEST(ResponseHeadTest, LeavesOutHopByHopAndGatewaySetFieldsAndKeepsRepeatedOnes) {
  const Scanned s = Scan(
      "HTTP/1.1 404 Not Found\r\n"
      "Set-Cookie: a=1\r\n"
      "keep-alive: timeout=5\r\n"
      "X-Correlation-ID: upstream-chosen\r\n"
      "Set-Cookie: b=2\r\n"
      "TRACEPARENT: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
      "Upgrade: h2c\r\n"
      "content-length: 9\r\n"
      "Proxy-Authenticate: Basic\r\n"
      "X-Last: z\r\n"
      "\r\n");
  ASSERT_EQ(s.result, HeadScan::kPlain);
  EXPECT_EQ(s.head.status, 404);
  EXPECT_EQ(s.reason, "Not Found");
  EXPECT_EQ(s.head.content_length, 9u);
  EXPECT_EQ(s.relayed, "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Last: z\r\n");
}

TEST(ResponseHeadTest, KeepAliveFollowsTheVersionAndTheConnectionOptions) {
  struct Case {
    std::string version;
    std::string connection;  // empty: no Connection field
    bool keep_alive;
  };
  const Case cases[] = {
      {"1.1", "", true},
      {"1.1", "Connection: close\r\n", false},
      {"1.1", "Connection: Keep-Alive\r\n", true},
      {"1.1", "Connection: keep-alive, CLOSE\r\n", false},
      {"1.1", "Connection: keep-alive\r\nConnection: close\r\n", false},
      {"1.0", "", false},
      {"1.0", "Connection: keep-alive\r\n", true},
      {"1.0", "Connection: , keep-alive ,\r\n", true},
      {"1.0", "Connection: close\r\n", false},
  };
  for (const Case& c : cases) {
    const std::string head =
        "HTTP/" + c.version + " 200 OK\r\n" + c.connection + "Content-Length: 2\r\n\r\n";
    const Scanned s = Scan(head);
    ASSERT_EQ(s.result, HeadScan::kPlain) << head;
    EXPECT_EQ(s.head.keep_alive, c.keep_alive) << head;
    EXPECT_EQ(s.relayed, "") << head;
  }
}

TEST(ResponseHeadTest, LeavesEveryOtherHeadToBeast) {
  const std::string ok = "HTTP/1.1 200 OK\r\n";
  const std::string cl = "Content-Length: 3\r\n";
  const std::string cases[] = {
      // Framing it does not take on.
      ok + "Transfer-Encoding: chunked\r\n\r\n",
      ok + "Transfer-Encoding: chunked\r\n" + cl + "\r\n",
      ok + "\r\n",                          // close-delimited
      ok + cl + cl + "\r\n",                // repeated, even when equal
      ok + "Content-Length: 3, 3\r\n\r\n",  //
      ok + "Content-Length: +3\r\n\r\n",    //
      ok + "Content-Length: \r\n\r\n",      //
      ok + "Content-Length: 99999999999999999999\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n" + cl + "\r\n",  // interim
      "HTTP/1.1 101 Switching Protocols\r\n" + cl + "\r\n",
      "HTTP/1.1 204 No Content\r\n" + cl + "\r\n",  // never a body
      "HTTP/1.1 304 Not Modified\r\n" + cl + "\r\n",
      "HTTP/1.1 600 Odd\r\n" + cl + "\r\n",
      // Connection options that name fields.
      ok + "Connection: upgrade\r\n" + cl + "\r\n",
      ok + "Connection: close, X-Secret\r\n" + cl + "\r\n",
      // Other versions and malformed status lines.
      "HTTP/2.0 200 OK\r\n" + cl + "\r\n",
      "HTTP/1.2 200 OK\r\n" + cl + "\r\n",
      "HTTP/1.1 200\r\n" + cl + "\r\n",
      "HTTP/1.1 2x0 OK\r\n" + cl + "\r\n",
      "HTTP/1.1  200 OK\r\n" + cl + "\r\n",
      "HTTQ/1.1 200 OK\r\n" + cl + "\r\n",
      "HTTP/1.1 200 O\x01K\r\n" + cl + "\r\n",
      // Malformed fields.
      ok + "X-A: 1\r\n folded\r\n" + cl + "\r\n",
      ok + "X-A : 1\r\n" + cl + "\r\n",
      ok + ": 1\r\n" + cl + "\r\n",
      ok + "X(A): 1\r\n" + cl + "\r\n",
      ok + "X-A 1\r\n" + cl + "\r\n",
      ok + "X-A: 1\n" + cl + "\r\n",
      ok + "X-A: 1\r2\r\n" + cl + "\r\n",
      ok + std::string("X-A: 1\0002\r\n", 10) + cl + "\r\n",
      ok + "X-A: 1\x7f\r\n" + cl + "\r\n",
      ok + cl + "\n",
  };
  for (const std::string& head : cases) {
    EXPECT_EQ(Scan(head).result, HeadScan::kNotPlain) << head;
  }
  EXPECT_EQ(Scan(ok + cl + "\r\n", 2).result, HeadScan::kNotPlain) << "longer than the limit";
  EXPECT_EQ(Scan(ok + cl + "\r\n", 3).result, HeadScan::kPlain) << "as long as the limit";
  EXPECT_EQ(Scan("HTTQ/1.").result, HeadScan::kNotPlain) << "decided before the head is whole";
  std::string many = ok;
  for (int i = 0; i < 70; ++i) {
    many += "X-F: " + std::to_string(i) + "\r\n";
  }
  EXPECT_EQ(Scan(many + cl + "\r\n").result, HeadScan::kNotPlain) << "too many lines";
}

// What Beast makes of `head`, in the scanner's terms.
Scanned ParseWithBeast(const std::string& head) {
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // the head only
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(head), ec);
  Scanned s;
  s.result = !ec && parser.is_header_done() ? HeadScan::kPlain : HeadScan::kNotPlain;
  if (s.result != HeadScan::kPlain) {
    return s;
  }
  const auto& res = parser.get();
  s.head.status = res.result_int();
  s.reason = std::string(res.reason());  // Beast's standard phrase when none came
  s.head.content_length = parser.content_length().value_or(0);
  s.head.keep_alive = parser.keep_alive();
  for (const auto& f : res) {
    const std::string_view name(f.name_string().data(), f.name_string().size());
    if (RoleOf(name) == FieldRole::kRelay) {
      AppendField(s.relayed, name, std::string_view(f.value().data(), f.value().size()));
    }
  }
  return s;
}

TEST(ResponseHeadTest, AgreesWithBeastOnEveryPlainHead) {
  const std::vector<std::string> heads = {
      kNginxHead,
      "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n",
      "HTTP/1.0 404 \r\nContent-Length: 10\r\n\r\n",
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\ncontent-length:   7\t\r\n"
      "X-Odd-Chars: !#$%&'*+-.^_`|~ \x80\xff\r\nX-Empty:\r\nConnection: close\r\n\r\n",
      "HTTP/1.1 299 Whatever  It\tSays\r\nA:b\r\nB:  c  d  \r\nContent-Length: 1\r\n\r\n",
  };
  for (const std::string& head : heads) {
    const Scanned mine = Scan(head);
    const Scanned beast = ParseWithBeast(head);
    ASSERT_EQ(mine.result, HeadScan::kPlain) << head;
    ASSERT_EQ(beast.result, HeadScan::kPlain) << head;
    EXPECT_EQ(mine.head.status, beast.head.status) << head;
    // The gateway sends the standard phrase for an empty one, as Beast reports it.
    EXPECT_EQ(mine.reason.empty() ? std::string(http::obsolete_reason(http::int_to_status(
                                        static_cast<unsigned>(mine.head.status))))
                                  : mine.reason,
              beast.reason)
        << head;
    EXPECT_EQ(mine.head.content_length, beast.head.content_length) << head;
    EXPECT_EQ(mine.head.keep_alive, beast.head.keep_alive) << head;
    EXPECT_EQ(mine.relayed, beast.relayed) << head;
  }
}

}  // namespace
}  // namespace agentmesh::server::internal
