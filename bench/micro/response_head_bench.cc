// The gateway's reading of an upstream response head: its plain-head scanner against
// Beast's parser (with the gateway's field callbacks, as the fallback runs it), on the
// head nginx sends for a small static body.
#include <benchmark/benchmark.h>
#include <boost/asio/buffer.hpp>

#include "server/gateway_relay.h"
#include "server/response_head.h"

namespace agentmesh::server::internal {
namespace {

constexpr std::string_view kNginxAnswer =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Fri, 27 Nov 2026 13:54:28 GMT\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 3\r\n"
    "Connection: keep-alive\r\n"
    "\r\n"
    "ok\n";

void BM_ResponseHead_PlainScan(benchmark::State& state) {
  PlainHead head;
  HeadText relayed;
  relayed.reserve(256);
  for (auto _ : state) {
    const HeadScan r = ScanPlainResponseHead(kNginxAnswer, 64 * 1024, head, relayed);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(relayed.data());
  }
}
BENCHMARK(BM_ResponseHead_PlainScan);

void BM_ResponseHead_BeastParser(benchmark::State& state) {
  for (auto _ : state) {
    ResponseParser parser;
    boost::system::error_code ec;
    parser.put(boost::asio::buffer(kNginxAnswer.data(), kNginxAnswer.size()), ec);
    benchmark::DoNotOptimize(parser.relayed_fields().data());
  }
}
BENCHMARK(BM_ResponseHead_BeastParser);

}  // namespace
}  // namespace agentmesh::server::internal
