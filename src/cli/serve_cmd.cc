// `agentmesh serve`: the composition root of a node. Loads the policy, opens the
// store, restores membership, starts the HTTP server, the ticker and the health
// checker, and shuts all of it down gracefully on SIGTERM/SIGINT.
#include <csignal>
#include <cstdio>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "agentmesh/config/policy.h"
#include "agentmesh/core/clock.h"
#include "agentmesh/core/log.h"
#include "agentmesh/observe/event_journal.h"
#include "agentmesh/observe/metrics.h"
#include "agentmesh/server/coord_routes.h"
#include "agentmesh/server/coord_service.h"
#include "agentmesh/server/etcd_coord_service.h"
#include "agentmesh/server/gateway.h"
#include "agentmesh/server/health_checker.h"
#include "agentmesh/server/http_server.h"
#include "agentmesh/server/membership_service.h"
#include "agentmesh/server/otlp_exporter.h"
#include "agentmesh/server/routes.h"
#include "agentmesh/server/trace_routes.h"
#include "agentmesh/store/embedded_store.h"

#include "cli/commands.h"
#include "cli/coord_options.h"
#include "cli/gateway_options.h"
#include <malloc.h>

namespace agentmesh::cli {
namespace {

constexpr int kExitConfigError = 2;
constexpr int kExitRuntimeError = 1;

struct ServeFlags {
  std::string config;
  std::string listen;
  std::string data_dir;
  std::string node_id;
  std::string log_level;
  std::string fleet;
};

int Fail(int code, const std::string& message) {
  std::cerr << "agentmesh serve: " << message << std::endl;
  return code;
}

bool ApplyLogLevel(std::string_view text) {
  core::log::Level level = core::log::Level::kInfo;
  if (text == "trace") {
    text = "debug";
  } else if (text == "off") {
    text = "error";
  }
  if (!core::log::ParseLevel(text, &level)) {
    return false;
  }
  core::log::SetLevel(level);
  return true;
}

void AddStoreMetrics(observe::Registry& registry, const store::EmbeddedStore& store) {
  const auto stat = [&store](std::uint64_t store::EmbeddedStoreStats::*field) {
    return [&store, field] {
      return std::vector<observe::Sample>{{{}, static_cast<double>(store.stats().*field)}};
    };
  };
  registry.AddCallback("agentmesh_store_writes_total", "Store write requests committed.",
                       observe::MetricType::kCounter, {}, stat(&store::EmbeddedStoreStats::writes));
  registry.AddCallback("agentmesh_store_transactions_total",
                       "Store transactions (fsyncs) that committed the writes.",
                       observe::MetricType::kCounter, {},
                       stat(&store::EmbeddedStoreStats::transactions));
  registry.AddCallback("agentmesh_store_write_failures_total", "Store write requests that failed.",
                       observe::MetricType::kCounter, {},
                       stat(&store::EmbeddedStoreStats::failures));
}

std::string FormatHostPort(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

int RunServe(const ServeFlags& flags) {
  core::Result<config::Policy> loaded =
      flags.config.empty() ? config::DefaultPolicy() : config::LoadPolicyFile(flags.config);
  if (!loaded) {
    return Fail(kExitConfigError, loaded.error().message());
  }
  config::Policy policy = std::move(*loaded);
  if (!flags.listen.empty()) {
    policy.node.listen = flags.listen;
  }
  if (!flags.data_dir.empty()) {
    policy.node.data_dir = flags.data_dir;
  }
  if (!flags.node_id.empty()) {
    policy.node.id = flags.node_id;
  }
  if (!flags.log_level.empty()) {
    policy.node.log_level = flags.log_level;
  }
  if (!ApplyLogLevel(policy.node.log_level)) {
    return Fail(kExitConfigError, "unknown log level '" + policy.node.log_level + "'");
  }
  server::HttpServerOptions http;
  http.listen = policy.node.listen;
  http.max_body_bytes = policy.node.max_body_bytes;
  http.io_threads = policy.node.io_threads;
  server::HealthCheckerOptions checks;
  checks.interval = policy.health.check_interval;
  checks.timeout = policy.health.check_timeout;
  const health::MembershipOptions membership_options = config::ToMembershipOptions(policy);
  server::GatewayOptions gateway_options = ToGatewayOptions(policy);
  observe::TraceStoreOptions trace_options;
  trace_options.max_traces = static_cast<std::size_t>(policy.tracing.max_recent_traces);
  server::OtlpExporterOptions otlp_options;
  otlp_options.endpoint = policy.tracing.otlp_endpoint;
  otlp_options.service_name = policy.tracing.service_name;
  for (const core::Status& s :
       {server::Validate(http), server::Validate(checks), health::Validate(membership_options),
        server::Validate(gateway_options), observe::Validate(trace_options),
        server::Validate(otlp_options)}) {
    if (!s.ok()) {
      return Fail(kExitConfigError, s.message());
    }
  }
  std::optional<config::Fleet> fleet;
  if (!flags.fleet.empty()) {
    auto parsed = config::LoadFleetFile(flags.fleet);
    if (!parsed) {
      return Fail(kExitConfigError, parsed.error().message());
    }
    fleet = std::move(*parsed);
  }
  server::CoordServiceOptions coord_options =
      ToCoordServiceOptions(policy, fleet ? &*fleet : nullptr);
  const bool coord_on_etcd = policy.storage.coordination == config::CoordinationBackend::kEtcd;
  server::EtcdCoordOptions etcd_options;
  if (coord_on_etcd) {
    etcd_options = ToEtcdCoordOptions(policy, coord_options);
    if (core::Status s = server::Validate(etcd_options); !s.ok()) {
      return Fail(kExitConfigError, s.message());
    }
  }
  if (policy.node.tick_interval <= core::Duration::zero()) {
    return Fail(kExitConfigError, "node.tick_interval must be positive");
  }

  if (policy.node.malloc_arena_max > 0) {
    // Before any thread exists, so that every thread shares the configured arenas.
    mallopt(M_ARENA_MAX, policy.node.malloc_arena_max);
  }
  auto opened = store::EmbeddedStore::Open(
      {.data_dir = policy.node.data_dir, .max_batch = policy.storage.embedded_max_batch});
  if (!opened) {
    return Fail(kExitRuntimeError, opened.error().ToString());
  }
  std::unique_ptr<store::EmbeddedStore> store = std::move(*opened);
  auto node_id = store->NodeId(policy.node.id);
  if (!node_id) {
    return Fail(kExitRuntimeError, node_id.error().ToString());
  }

  // The control context runs the acceptor, timers, health checks and signals; the
  // server owns its connection threads (node.io_threads).
  boost::asio::io_context ioc(1);
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  observe::EventJournal journal;
  observe::Registry registry;
  core::Clock& clock = core::SystemClock::Instance();
  server::MembershipService membership(membership_options, *node_id, store->membership(), clock,
                                       &journal, registry);
  if (core::Status s = membership.Restore(); !s.ok()) {
    return Fail(kExitRuntimeError, "cannot restore registrations: " + s.ToString());
  }
  AddStoreMetrics(registry, *store);
  // Coordination lives in the embedded store or in etcd (storage.coordination).
  std::unique_ptr<server::CoordService> embedded_coord;
  std::unique_ptr<server::EtcdCoordService> etcd_coord;
  server::CoordBackend* coord = nullptr;
  if (coord_on_etcd) {
    etcd_coord = std::make_unique<server::EtcdCoordService>(std::move(etcd_options),
                                                            ioc.get_executor(), clock, &journal);
    if (core::Status s = etcd_coord->Start(); !s.ok()) {
      return Fail(kExitRuntimeError, "cannot reach etcd for coordination: " + s.message());
    }
    coord = etcd_coord.get();
  } else {
    embedded_coord = std::make_unique<server::CoordService>(std::move(coord_options),
                                                            store->coord(), clock, &journal);
    if (core::Status s = embedded_coord->Restore(); !s.ok()) {
      return Fail(kExitRuntimeError, "cannot restore coordination state: " + s.ToString());
    }
    coord = embedded_coord.get();
  }
  server::Router router;
  server::AddAgentRoutes(router, membership);
  server::AddAdminRoutes(router, membership, registry, [&journal](std::size_t limit) {
    boost::json::array out;
    for (const core::Event& e : journal.Recent(limit)) {
      out.push_back(observe::ToJson(e));
    }
    return out;
  });
  observe::TraceStore traces(trace_options);
  std::unique_ptr<server::OtlpExporter> exporter;
  if (!otlp_options.endpoint.empty()) {
    exporter = std::make_unique<server::OtlpExporter>(otlp_options);
  }
  server::Gateway gateway(std::move(gateway_options), membership, clock, registry, &traces,
                          exporter.get(), &journal);
  server::AddGatewayRoutes(router, gateway);
  server::AddTraceRoutes(router, traces);
  server::AddCoordRoutes(router, *coord);
  server::HttpServer server(http, ioc, router, clock, registry);
  server.SetGateway(&gateway);
  if (core::Status s = server.Start(); !s.ok()) {
    return Fail(s.reason() == "invalid_listen" ? kExitConfigError : kExitRuntimeError, s.message());
  }

  std::promise<int> stop;
  signals.async_wait(
      [&stop](const boost::system::error_code& ec, int signo) { stop.set_value(ec ? 0 : signo); });
  auto work = boost::asio::make_work_guard(ioc);
  std::thread control([&ioc] { ioc.run(); });
  membership.StartTicker(ioc.get_executor(), policy.node.tick_interval);
  if (embedded_coord) {
    embedded_coord->StartTicker(ioc.get_executor());
  }
  server::HealthChecker checker(checks, membership, ioc.get_executor());
  checker.Start();

  const std::string where = FormatHostPort(server.host(), server.port());
  std::cout << "agentmesh listening on http://" << where << std::endl;
  core::log::Info("node started", {{"node_id", *node_id},
                                   {"listen", where},
                                   {"data_dir", policy.node.data_dir},
                                   {"io_threads", policy.node.io_threads},
                                   {"restored", membership.List({}).size()}});

  const int signo = stop.get_future().get();
  core::log::Info("shutting down", {{"signal", signo}});
  checker.Stop();
  membership.StopTicker();
  if (embedded_coord) {
    embedded_coord->Stop();
  }
  if (etcd_coord) {
    etcd_coord->Stop();
  }
  server.Stop();
  if (etcd_coord) {
    etcd_coord->CloseConnections();  // they live on the server's IO contexts
  }
  store->Flush();
  work.reset();
  ioc.stop();
  control.join();
  core::log::Info("node stopped", {{"node_id", *node_id}});
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Run an agentmesh node (HTTP API on --listen)");
  cmd->add_option("--config", flags->config, "Policy file (YAML); default: the built-in rules");
  cmd->add_option("--listen", flags->listen,
                  "HOST:PORT to listen on (default 127.0.0.1:7700; port 0 picks a free port)");
  cmd->add_option("--data-dir", flags->data_dir, "Data directory (default ./agentmesh-data)");
  cmd->add_option("--node-id", flags->node_id, "Node id (default: persisted or generated)");
  cmd->add_option("--log-level", flags->log_level, "trace, debug, info, warn, error or off");
  cmd->add_option("--fleet", flags->fleet,
                  "Fleet file (YAML, e.g. examples/sutazai/fleet.yaml): coordinator roles and "
                  "the electorate of quorum proposals");
  cmd->callback([flags] {
    const int code = RunServe(*flags);
    if (code != 0) {
      throw CLI::RuntimeError(code);
    }
  });
}

}  // namespace agentmesh::cli
