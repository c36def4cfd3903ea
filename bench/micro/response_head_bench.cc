// The gateway's reading of an upstream response head: its plain-head scanner against
// Beast's parser (with the gateway's field callbacks, as the fallback runs it), on the
// head nginx sends for a small static body.
#include <string>

#include <benchmark/benchmark.h>
#include <boost/asio/buffer.hpp>

#include "server/gateway_relay.h"
#include "server/response_head.h"
#include "testing/upstream_heads.h"

namespace agentmesh::server::internal {
namespace {

const std::string kNginxAnswer =
    std::string(testing::kNginxSmallHead) + std::string(testing::kNginxSmallBody);

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
