// lock_load: lock acquire + release cycles over keep-alive HTTP, one harness with two
// drivers so that agentmesh's lock API and etcd's v3 lock API (its JSON gateway) are
// measured the same way. Used by bench/compare/locks_vs_etcd.
//
//   lock_load --target agentmesh|etcd --url http://127.0.0.1:P [--clients 16]
//             [--seconds 10] [--mode own|contend]
//
// Each client is one thread with one keep-alive connection and its own session (an
// agentmesh session, an etcd lease), renewed every 10 s when the run is longer than
// 20 s. own: client i locks "bench-i"; contend: every client locks "bench-shared".
// Prints one line: cycles_per_s p50_ms p99_ms (acquire request to release answer), plus
// handoff_p50_ms handoff_p99_ms handoff_mean_ms in contend mode (one client's release
// answer to the next grant another client receives; 0 when that grant arrived first).
// Counts go to stderr; the exit code is 1 when a request failed.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "agentmesh/client/http_client.h"
#include "agentmesh/core/status.h"
#include "agentmesh/etcd/base64.h"

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using agentmesh::client::HttpResponse;
using agentmesh::core::Result;
using Clock = std::chrono::steady_clock;

constexpr auto kRequestTimeout = std::chrono::seconds(30);
constexpr auto kRenewEvery = std::chrono::seconds(10);
constexpr int kRenewWhenLongerThanSeconds = 20;
constexpr int kSessionTtlSeconds = 60;
constexpr int kAgentmeshWaitMs = 10000;

struct Args {
  std::string target;
  std::string url;
  int clients = 16;
  int seconds = 10;
  std::string mode = "own";
};

// One keep-alive connection driven synchronously from one thread.
class BlockingConnection {
 public:
  explicit BlockingConnection(const agentmesh::client::BaseUrl& url)
      : conn_(io_.get_executor(), url.host, url.port), prefix_(url.path_prefix) {}

  Result<HttpResponse> Send(const std::string& method, const std::string& target,
                            std::string body = {}) {
    std::optional<Result<HttpResponse>> out;
    asio::co_spawn(
        io_,
        conn_.Send(agentmesh::client::HttpRequest(method, prefix_ + target, std::move(body)),
                   kRequestTimeout),
        [&out](std::exception_ptr e, Result<HttpResponse> r) {
          out = e ? agentmesh::core::Err(agentmesh::core::Unavailable("exception", "send threw"))
                  : std::move(r);
        });
    io_.restart();
    io_.run();
    return std::move(*out);
  }

 private:
  asio::io_context io_{1};
  agentmesh::client::HttpConnection conn_;
  std::string prefix_;
};

// Returns body[key] as a string (etcd writes int64 as strings), or "".
std::string Field(const std::string& body, const char* key) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    return "";
  }
  const json::value* f = v.as_object().if_contains(key);
  return f != nullptr && f->is_string() ? std::string(f->as_string()) : "";
}

// Why an acquire failed; wait_expired when the lock's wait_ms ran out (agentmesh's 409).
struct CallError {
  std::string message;
  bool wait_expired = false;
};

// Describes a failed or non-2xx answer.
std::string Describe(const Result<HttpResponse>& r, const std::string& what) {
  if (!r) {
    return what + ": " + r.error().ToString();
  }
  return what + ": HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 200);
}

bool Ok(const Result<HttpResponse>& r) { return r && r->status >= 200 && r->status < 300; }

// One system's session and lock calls; stateless, so client threads (Open, Acquire,
// Release), the renewal thread (Renew) and main (Close) share one, each on its own
// connection.
class LockDriver {
 public:
  virtual ~LockDriver() = default;
  // Creates client `i`'s session; returns its id.
  virtual std::optional<std::string> Open(BlockingConnection& c, int i, std::string& error) = 0;
  // Takes `name` for `session`; returns what Release needs (etcd's ownership key).
  virtual std::optional<std::string> Acquire(BlockingConnection& c, const std::string& session,
                                             const std::string& name, CallError& error) = 0;
  virtual bool Release(BlockingConnection& c, const std::string& session, const std::string& name,
                       const std::string& handle, std::string& error) = 0;
  virtual bool Renew(BlockingConnection& c, const std::string& session) = 0;
  virtual void Close(BlockingConnection& c, const std::string& session) = 0;
};

class AgentmeshDriver final : public LockDriver {
 public:
  std::optional<std::string> Open(BlockingConnection& c, int i, std::string& error) override {
    json::object body{{"agent", "bench-" + std::to_string(i)},
                      {"ttl", std::to_string(kSessionTtlSeconds) + "s"}};
    auto r = c.Send("POST", "/v1/sessions", json::serialize(body));
    std::string id = Ok(r) ? Field(r->body, "id") : "";
    if (id.empty()) {
      error = Describe(r, "POST /v1/sessions");
      return std::nullopt;
    }
    return id;
  }
  std::optional<std::string> Acquire(BlockingConnection& c, const std::string& session,
                                     const std::string& name, CallError& error) override {
    json::object body{{"session", session}, {"mode", "exclusive"}, {"wait_ms", kAgentmeshWaitMs}};
    auto r = c.Send("POST", "/v1/locks/" + name + "/acquire", json::serialize(body));
    if (Ok(r)) {
      return std::string();
    }
    error.wait_expired = r && r->status == 409 && r->body.find("lock_held") != std::string::npos;
    error.message = Describe(r, "acquire " + name);
    return std::nullopt;
  }
  bool Release(BlockingConnection& c, const std::string& session, const std::string& name,
               const std::string&, std::string& error) override {
    json::object body{{"session", session}};
    auto r = c.Send("POST", "/v1/locks/" + name + "/release", json::serialize(body));
    if (!Ok(r)) {
      error = Describe(r, "release " + name);
    }
    return Ok(r);
  }
  bool Renew(BlockingConnection& c, const std::string& session) override {
    return Ok(c.Send("PUT", "/v1/sessions/" + session + "/renew"));
  }
  void Close(BlockingConnection& c, const std::string& session) override {
    (void)c.Send("DELETE", "/v1/sessions/" + session);
  }
};

class EtcdDriver final : public LockDriver {
 public:
  std::optional<std::string> Open(BlockingConnection& c, int, std::string& error) override {
    json::object body{{"TTL", std::to_string(kSessionTtlSeconds)}};
    auto r = c.Send("POST", "/v3/lease/grant", json::serialize(body));
    std::string id = Ok(r) ? Field(r->body, "ID") : "";
    if (id.empty()) {
      error = Describe(r, "POST /v3/lease/grant");
      return std::nullopt;
    }
    return id;
  }
  std::optional<std::string> Acquire(BlockingConnection& c, const std::string& session,
                                     const std::string& name, CallError& error) override {
    json::object body{{"name", agentmesh::etcd::Base64Encode(name)}, {"lease", session}};
    auto r = c.Send("POST", "/v3/lock/lock", json::serialize(body));
    std::string key = Ok(r) ? Field(r->body, "key") : "";
    if (key.empty()) {
      error.message = Describe(r, "lock " + name);
      return std::nullopt;
    }
    return key;
  }
  bool Release(BlockingConnection& c, const std::string&, const std::string& name,
               const std::string& key, std::string& error) override {
    json::object body{{"key", key}};
    auto r = c.Send("POST", "/v3/lock/unlock", json::serialize(body));
    if (!Ok(r)) {
      error = Describe(r, "unlock " + name);
    }
    return Ok(r);
  }
  bool Renew(BlockingConnection& c, const std::string& session) override {
    json::object body{{"ID", session}};
    auto r = c.Send("POST", "/v3/lease/keepalive", json::serialize(body));
    return Ok(r) && r->body.find("\"TTL\"") != std::string::npos;
  }
  void Close(BlockingConnection& c, const std::string& session) override {
    json::object body{{"ID", session}};
    (void)c.Send("POST", "/v3/lease/revoke", json::serialize(body));
  }
};

struct Cycle {
  Clock::time_point start;     // acquire request sent
  Clock::time_point granted;   // acquire answer received
  Clock::time_point released;  // release answer received
  int client = 0;
};

struct ClientResult {
  std::vector<Cycle> cycles;
  long errors = 0;
  long wait_expired = 0;
  std::string first_error;
};

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Returns the q-quantile (nearest rank) of sorted `v`, or 0 when empty.
double Quantile(const std::vector<double>& v, double q) {
  if (v.empty()) {
    return 0;
  }
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size()) + 0.999999);
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

void RunClient(const Args& args, const agentmesh::client::BaseUrl& url, LockDriver& driver, int i,
               std::latch& ready, std::latch& go, const Clock::time_point& deadline,
               std::string& session, ClientResult& out) {
  BlockingConnection conn(url);
  std::string error;
  std::optional<std::string> opened = driver.Open(conn, i, error);
  session = opened.value_or("");  // before count_down: the renewer reads it after go
  ready.count_down();
  go.wait();
  if (!opened) {
    ++out.errors;
    out.first_error = error;
    return;
  }
  const std::string name = args.mode == "own" ? "bench-" + std::to_string(i) : "bench-shared";
  while (Clock::now() < deadline) {
    Cycle c{Clock::now(), {}, {}, i};
    CallError acquire_error;
    std::optional<std::string> handle = driver.Acquire(conn, session, name, acquire_error);
    c.granted = Clock::now();
    if (!handle) {
      if (acquire_error.wait_expired) {
        ++out.wait_expired;
        continue;
      }
      ++out.errors;
      out.first_error = acquire_error.message;
      break;
    }
    if (!driver.Release(conn, session, name, *handle, error)) {
      ++out.errors;
      out.first_error = error;
      break;
    }
    c.released = Clock::now();
    out.cycles.push_back(c);
  }
}

// Renews every session every kRenewEvery until `stop`.
void RenewLoop(const agentmesh::client::BaseUrl& url, LockDriver& driver,
               const std::vector<std::string>& sessions, std::mutex& mu,
               std::condition_variable& cv, const bool& stop, std::atomic<long>& failures) {
  BlockingConnection conn(url);
  std::unique_lock lock(mu);
  while (!cv.wait_for(lock, kRenewEvery, [&] { return stop; })) {
    lock.unlock();
    for (const auto& s : sessions) {
      if (!s.empty() && !driver.Renew(conn, s)) {
        ++failures;
      }
    }
    lock.lock();
  }
}

int Usage() {
  std::fprintf(stderr,
               "usage: lock_load --target agentmesh|etcd --url http://HOST:PORT [--clients N]"
               " [--seconds S] [--mode own|contend]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--target") {
      args.target = v;
    } else if (k == "--url") {
      args.url = v;
    } else if (k == "--clients") {
      args.clients = std::atoi(v.c_str());
    } else if (k == "--seconds") {
      args.seconds = std::atoi(v.c_str());
    } else if (k == "--mode") {
      args.mode = v;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return Usage();
    }
  }
  auto url = agentmesh::client::ParseBaseUrl(args.url);
  if ((args.target != "agentmesh" && args.target != "etcd") || !url || args.clients < 1 ||
      args.seconds < 1 || (args.mode != "own" && args.mode != "contend")) {
    return Usage();
  }
  std::unique_ptr<LockDriver> driver;
  if (args.target == "etcd") {
    driver = std::make_unique<EtcdDriver>();
  } else {
    driver = std::make_unique<AgentmeshDriver>();
  }

  const auto n = static_cast<std::size_t>(args.clients);
  std::vector<ClientResult> results(n);
  std::vector<std::string> sessions(n);
  std::latch ready(args.clients);
  std::latch go(1);
  Clock::time_point deadline;
  std::vector<std::thread> threads;
  for (int i = 0; i < args.clients; ++i) {
    threads.emplace_back(RunClient, std::cref(args), std::cref(*url), std::ref(*driver), i,
                         std::ref(ready), std::ref(go), std::cref(deadline),
                         std::ref(sessions[static_cast<std::size_t>(i)]),
                         std::ref(results[static_cast<std::size_t>(i)]));
  }
  ready.wait();
  const Clock::time_point start = Clock::now();
  deadline = start + std::chrono::seconds(args.seconds);
  go.count_down();

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::atomic<long> renew_failures{0};
  std::thread renewer;
  if (args.seconds > kRenewWhenLongerThanSeconds) {
    renewer = std::thread(RenewLoop, std::cref(*url), std::ref(*driver), std::cref(sessions),
                          std::ref(mu), std::ref(cv), std::cref(stop), std::ref(renew_failures));
  }
  for (auto& t : threads) {
    t.join();
  }
  if (renewer.joinable()) {
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    cv.notify_all();
    renewer.join();
  }
  {
    BlockingConnection conn(*url);
    for (const auto& s : sessions) {
      if (!s.empty()) {
        driver->Close(conn, s);
      }
    }
  }

  std::vector<Cycle> cycles;
  long errors = renew_failures.load();
  long wait_expired = 0;
  Clock::time_point end = start;
  for (const auto& r : results) {
    cycles.insert(cycles.end(), r.cycles.begin(), r.cycles.end());
    errors += r.errors;
    wait_expired += r.wait_expired;
    if (!r.first_error.empty()) {
      std::fprintf(stderr, "lock_load: %s\n", r.first_error.c_str());
    }
  }
  std::vector<double> latency;
  for (const auto& c : cycles) {
    latency.push_back(Millis(c.released - c.start));
    end = std::max(end, c.released);
  }
  std::sort(latency.begin(), latency.end());
  const double secs = std::max(1e-9, std::chrono::duration<double>(end - start).count());
  std::printf("cycles_per_s=%.1f p50_ms=%.3f p99_ms=%.3f",
              static_cast<double>(cycles.size()) / secs, Quantile(latency, 0.50),
              Quantile(latency, 0.99));

  std::size_t handoffs = 0;
  if (args.mode == "contend") {
    // Holders of one exclusive lock are serialised, so grant times order the holders; a
    // hand-off pairs holder k's release answer with holder k+1's grant when they differ.
    std::sort(cycles.begin(), cycles.end(),
              [](const Cycle& a, const Cycle& b) { return a.granted < b.granted; });
    std::vector<double> gaps;
    for (std::size_t k = 0; k + 1 < cycles.size(); ++k) {
      if (cycles[k].client != cycles[k + 1].client) {
        gaps.push_back(std::max(0.0, Millis(cycles[k + 1].granted - cycles[k].released)));
      }
    }
    std::sort(gaps.begin(), gaps.end());
    handoffs = gaps.size();
    double sum = 0;
    for (const double g : gaps) {
      sum += g;
    }
    // The mean as well: etcd's hand-offs are bimodal (near 0, or ~100 ms when the
    // waiter's watch was not yet synced), so a median alone hides the cost.
    std::printf(" handoff_p50_ms=%.3f handoff_p99_ms=%.3f handoff_mean_ms=%.3f",
                Quantile(gaps, 0.50), Quantile(gaps, 0.99),
                gaps.empty() ? 0.0 : sum / static_cast<double>(gaps.size()));
  }
  std::printf("\n");
  std::fprintf(stderr,
               "lock_load: target=%s mode=%s clients=%d cycles=%zu handoffs=%zu in %.2f s, "
               "errors=%ld wait_expired=%ld\n",
               args.target.c_str(), args.mode.c_str(), args.clients, cycles.size(), handoffs, secs,
               errors, wait_expired);
  return errors == 0 && !cycles.empty() ? 0 : 1;
}
