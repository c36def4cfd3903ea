#include "agentmesh/server/otlp_exporter.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "client/fake_http_server.h"

namespace agentmesh::server {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpServer;
using testing::FakeReply;
using testing::RecordedRequest;

constexpr core::Duration kWait = 10s;  // bound on real IO waits; never reached when passing

observe::Span MakeSpan(std::uint8_t n) {
  observe::Span s;
  s.trace_id.bytes[15] = n;
  s.span_id.bytes[7] = n;
  s.name = "GET /agents/{name}";
  s.start = core::WallTime(std::chrono::seconds(1'800'000'000));
  s.duration = 5ms;
  s.attributes = {{"agent.id", "orch-1"}};
  return s;
}

std::size_t SpanCount(const RecordedRequest& r) {
  const boost::json::value body = boost::json::parse(r.body);
  return body.at("resourceSpans")
      .as_array()[0]
      .at("scopeSpans")
      .as_array()[0]
      .at("spans")
      .as_array()
      .size();
}

// Returns a local port with nothing listening on it.
std::string ClosedPort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return std::to_string(acceptor.local_endpoint().port());
}

OtlpExporterOptions Options(std::string endpoint) {
  OtlpExporterOptions o;
  o.endpoint = std::move(endpoint);
  o.flush_interval = 1h;  // batches leave on Flush, a full batch or destruction only
  o.timeout = 5s;
  return o;
}

TEST(OtlpExporterTest, ValidateChecksEveryField) {
  EXPECT_TRUE(Validate(OtlpExporterOptions{}).ok());
  EXPECT_TRUE(Validate(Options("http://127.0.0.1:4318/v1/traces")).ok());
  OtlpExporterOptions o = Options("ftp://collector");
  EXPECT_EQ(Validate(o).reason(), "invalid_endpoint");
  o = Options("");
  o.max_queue = 0;
  EXPECT_EQ(Validate(o).reason(), "invalid_max_queue");
  o = Options("");
  o.max_batch = 0;
  EXPECT_EQ(Validate(o).reason(), "invalid_max_batch");
  o = Options("");
  o.flush_interval = 0s;
  EXPECT_EQ(Validate(o).reason(), "invalid_flush_interval");
  o = Options("");
  o.timeout = -1s;
  EXPECT_EQ(Validate(o).reason(), "invalid_timeout");
  o = Options("");
  o.service_name = "";
  EXPECT_EQ(Validate(o).reason(), "invalid_service_name");
}

TEST(OtlpExporterTest, DeliversQueuedSpansAsOtlpJson) {
  FakeHttpServer collector;
  OtlpExporterOptions o = Options(collector.Url() + "/v1/traces");
  o.service_name = "node-a";
  OtlpExporter exporter(o);
  for (std::uint8_t i = 1; i <= 3; ++i) {
    exporter.Enqueue(MakeSpan(i));
  }
  ASSERT_TRUE(exporter.Flush(kWait));
  EXPECT_EQ(exporter.exported(), 3u);
  EXPECT_EQ(exporter.dropped(), 0u);
  const auto requests = collector.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/traces");
  EXPECT_EQ(requests[0].content_type, "application/json");
  EXPECT_EQ(SpanCount(requests[0]), 3u);
  const boost::json::value body = boost::json::parse(requests[0].body);
  EXPECT_EQ(body.at("resourceSpans")
                .as_array()[0]
                .at("resource")
                .at("attributes")
                .as_array()[0]
                .at("value")
                .at("stringValue")
                .as_string(),
            "node-a");
}

TEST(OtlpExporterTest, SplitsIntoBatchesOfAtMostMaxBatch) {
  FakeHttpServer collector;
  OtlpExporterOptions o = Options(collector.Url() + "/v1/traces");
  o.max_batch = 2;
  OtlpExporter exporter(o);
  for (std::uint8_t i = 1; i <= 5; ++i) {
    exporter.Enqueue(MakeSpan(i));
  }
  ASSERT_TRUE(exporter.Flush(kWait));
  EXPECT_EQ(exporter.exported(), 5u);
  std::size_t total = 0;
  for (const auto& r : collector.Requests()) {
    EXPECT_LE(SpanCount(r), 2u);
    total += SpanCount(r);
  }
  EXPECT_EQ(total, 5u);
  EXPECT_EQ(collector.Requests().size(), 3u);
  EXPECT_EQ(collector.ConnectionsAccepted(), 1);  // one keep-alive connection
}

TEST(OtlpExporterTest, PostsToDefaultPathWhenUrlHasNone) {
  FakeHttpServer collector;
  OtlpExporter exporter(Options(collector.Url()));
  exporter.Enqueue(MakeSpan(1));
  ASSERT_TRUE(exporter.Flush(kWait));
  ASSERT_EQ(collector.Requests().size(), 1u);
  EXPECT_EQ(collector.Requests()[0].target, "/v1/traces");
}

TEST(OtlpExporterTest, DropsAndCountsWhenCollectorIsDown) {
  OtlpExporter exporter(Options("http://127.0.0.1:" + ClosedPort() + "/v1/traces"));
  for (std::uint8_t i = 1; i <= 3; ++i) {
    exporter.Enqueue(MakeSpan(i));
  }
  ASSERT_TRUE(exporter.Flush(kWait));
  EXPECT_EQ(exporter.exported(), 0u);
  EXPECT_EQ(exporter.dropped(), 3u);
}

TEST(OtlpExporterTest, DropsBatchRejectedByCollectorThenRecovers) {
  FakeHttpServer collector([](const RecordedRequest&) { return FakeReply{503, "{}"}; });
  OtlpExporter exporter(Options(collector.Url() + "/v1/traces"));
  exporter.Enqueue(MakeSpan(1));
  exporter.Enqueue(MakeSpan(2));
  ASSERT_TRUE(exporter.Flush(kWait));
  EXPECT_EQ(exporter.dropped(), 2u);
  collector.SetHandler([](const RecordedRequest&) { return FakeReply{200, "{}"}; });
  exporter.Enqueue(MakeSpan(3));
  ASSERT_TRUE(exporter.Flush(kWait));
  EXPECT_EQ(exporter.exported(), 1u);
  EXPECT_EQ(exporter.dropped(), 2u);
}

TEST(OtlpExporterTest, DropsSpansBeyondQueueCapacity) {
  FakeHttpServer collector;
  OtlpExporterOptions o = Options(collector.Url() + "/v1/traces");
  o.max_queue = 2;
  OtlpExporter exporter(o);
  for (std::uint8_t i = 1; i <= 5; ++i) {
    exporter.Enqueue(MakeSpan(i));
  }
  EXPECT_EQ(exporter.dropped(), 3u);
  ASSERT_TRUE(exporter.Flush(kWait));
  EXPECT_EQ(exporter.exported(), 2u);
}

TEST(OtlpExporterTest, DestructorSendsWhatIsQueued) {
  FakeHttpServer collector;
  {
    OtlpExporter exporter(Options(collector.Url() + "/v1/traces"));
    exporter.Enqueue(MakeSpan(1));
    exporter.Enqueue(MakeSpan(2));
  }
  const auto requests = collector.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(SpanCount(requests[0]), 2u);
}

TEST(OtlpExporterTest, EmptyEndpointTurnsExportOff) {
  OtlpExporter exporter(Options(""));
  exporter.Enqueue(MakeSpan(1));
  EXPECT_TRUE(exporter.Flush(kWait));
  EXPECT_EQ(exporter.exported(), 0u);
  EXPECT_EQ(exporter.dropped(), 0u);
}

}  // namespace
}  // namespace agentmesh::server
