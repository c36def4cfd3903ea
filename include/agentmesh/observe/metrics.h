// Metrics: a small Prometheus registry (counters, gauges, histograms, callbacks).
//
// A Registry owns metric families; a family owns one child per label-value tuple.
// Hot paths look a child up once and keep the reference: children live as long as
// the registry and updating one is a relaxed atomic operation. Callback families are
// computed when Render() runs, for values derived from other state (membership counts).
// Render() writes the Prometheus text exposition format 0.0.4. Names follow STYLE.md:
// agentmesh_<module>_<what>_total / _seconds. Every class here is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace agentmesh::observe {

enum class MetricType { kCounter, kGauge, kHistogram };

// Returns "counter", "gauge" or "histogram".
std::string_view MetricTypeName(MetricType type);

// A monotonically increasing count.
class Counter {
 public:
  void Inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Default latency buckets in seconds: 100 us .. 10 s.
std::vector<double> DefaultLatencyBuckets();

// Counts observations into fixed buckets (upper bounds, ascending) plus +Inf.
class Histogram {
 public:
  // Requires: `bounds` strictly ascending and finite.
  explicit Histogram(std::vector<double> bounds);

  // Records one observation of `v`.
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot Snap() const;

 private:
  // Each thread records into one of kShards shards, so that the IO threads observing the
  // same histogram at request rate do not pass its cache lines back and forth; Snap()
  // adds the shards up.
  static constexpr std::size_t kShards = 8;
  struct alignas(64) Line {
    std::atomic<std::uint64_t> count[8];
  };
  struct alignas(64) Sum {
    std::atomic<double> value{0};
  };

  std::vector<double> bounds_;
  std::size_t lines_per_shard_;  // lines holding bounds_.size() + 1 buckets
  std::unique_ptr<Line[]> lines_;
  std::unique_ptr<Sum[]> sums_;
};

// One family: a metric name, its help text, its label names, and children by label values.
template <typename Metric>
class Family {
 public:
  using Factory = std::function<std::unique_ptr<Metric>()>;
  Family(std::size_t label_count, Factory factory)
      : label_count_(label_count), factory_(std::move(factory)) {}

  // Returns the child for `values` (one per label name, in order), creating it once.
  // The reference stays valid for the registry's lifetime.
  // Requires: values.size() equals the number of label names.
  Metric& WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::vector<std::string>(values.begin(), values.end()));
  }
  Metric& WithLabels(std::vector<std::string> values);

  // Calls `fn(label_values, metric)` for every child, ordered by label values.
  void ForEach(const std::function<void(const std::vector<std::string>&, const Metric&)>& fn) const;

 private:
  std::size_t label_count_;
  Factory factory_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

// One sample produced by a callback family.
struct Sample {
  std::vector<std::string> label_values;
  double value = 0;
};

class Registry {
 public:
  using SampleFn = std::function<std::vector<Sample>()>;

  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each Add* registers a family and returns it. Requires: a valid Prometheus metric
  // name not yet registered and valid label names ("le" is reserved for histograms).
  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> label_names, std::vector<double> bounds);
  // Registers a counter or gauge family whose samples `fn` computes at render time.
  // `fn` runs on the rendering thread and must not call back into this registry.
  void AddCallback(std::string name, std::string help, MetricType type,
                   std::vector<std::string> label_names, SampleFn fn);

  // Returns every family in the Prometheus text format 0.0.4, in registration order.
  std::string Render() const;

 private:
  struct Entry;
  Entry& Add(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Escapes a label value for the text format: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view value);
// Formats a sample value: integers without a fraction, "+Inf", "-Inf", "NaN".
std::string FormatSampleValue(double value);

}  // namespace agentmesh::observe
