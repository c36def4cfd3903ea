// OtlpExporter: ships kept spans to an OpenTelemetry collector as OTLP/HTTP JSON
// (POST {endpoint}, Content-Type: application/json; body from observe::EncodeOtlpJson).
//
// The gateway enqueues spans from its IO threads; one exporter thread with its own
// io_context batches them and POSTs over one keep-alive client::HttpConnection. Export
// is best effort: a full queue or a failed POST drops the spans and counts them, so a
// slow or dead collector never slows requests down. Owned by the composition root.
// Thread-safe: Enqueue, Flush and the counters may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "agentmesh/core/clock.h"
#include "agentmesh/core/status.h"
#include "agentmesh/observe/trace_store.h"

namespace agentmesh::server {

struct OtlpExporterOptions {
  // Collector URL, e.g. "http://127.0.0.1:4318/v1/traces" (a URL without a path posts
  // to /v1/traces); empty turns export off.
  std::string endpoint;
  // Spans waiting for export; more are dropped.
  std::size_t max_queue = 2048;
  // Most spans in one POST.
  std::size_t max_batch = 512;
  // Longest time a span waits before its batch is sent.
  core::Duration flush_interval = std::chrono::seconds(1);
  // Limit of one POST, and of the final flush when the exporter is destroyed.
  core::Duration timeout = std::chrono::seconds(5);
  // The service.name resource attribute.
  std::string service_name = "agentmesh";
};

// Errors: kInvalidArgument invalid_endpoint (not an http:// URL), invalid_max_queue,
// invalid_max_batch, invalid_flush_interval, invalid_timeout, invalid_service_name.
core::Status Validate(const OtlpExporterOptions& options);

class OtlpExporter {
 public:
  // Starts the exporter thread unless the endpoint is empty.
  // Requires: Validate(options).ok().
  explicit OtlpExporter(OtlpExporterOptions options);
  // Sends what is queued (bounded by options.timeout), then joins the thread.
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // Queues `span` for export, or drops it (counted) when the queue is full. Cheap: a
  // push under a mutex; wakes the exporter thread only when a batch is full. A no-op
  // when export is off.
  void Enqueue(observe::Span span);

  // Sends everything queued before the call now, and waits until it was exported or
  // dropped. Returns false when that took longer than `timeout`.
  bool Flush(core::Duration timeout);

  // Returns how many spans the collector accepted (2xx).
  std::uint64_t exported() const;
  // Returns how many spans were dropped: queue full, collector unreachable or non-2xx.
  std::uint64_t dropped() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace agentmesh::server
