#include "agentmesh/observe/metrics.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "agentmesh/core/check.h"

namespace agentmesh::observe {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

bool ValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) { return IsNameChar(c) || c == ':'; });
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0]) || name.starts_with("__")) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), IsNameChar);
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Appends `{a="x",b="y"}` (plus an optional extra label) or nothing when there are none.
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) {
    return;
  }
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) {
      out += ',';
    }
    first = false;
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) {
      out += ',';
    }
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void AppendSample(std::string& out, std::string_view name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view value,
                  std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  AppendLabels(out, names, values, extra_name, extra_value);
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<long long>(value));
  }
  return fmt::format("{}", value);
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

namespace {

// The histogram shard this thread records into: threads take slots in turn.
std::size_t ThreadSlot(std::size_t shards) {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t slot = next.fetch_add(1, std::memory_order_relaxed);
  return slot % shards;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      lines_per_shard_((bounds_.size() + 1 + 7) / 8),
      lines_(std::make_unique<Line[]>(kShards * lines_per_shard_)),
      sums_(std::make_unique<Sum[]>(kShards)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    AM_CHECK_MSG(std::isfinite(bounds_[i]), "histogram bounds must be finite");
    AM_CHECK_MSG(i == 0 || bounds_[i - 1] < bounds_[i], "histogram bounds must ascend");
  }
}

void Histogram::Observe(double v) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) {
    ++i;
  }
  const std::size_t shard = ThreadSlot(kShards);
  lines_[shard * lines_per_shard_ + i / 8].count[i % 8].fetch_add(1, std::memory_order_relaxed);
  sums_[shard].value.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Snap() const {
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    for (std::size_t shard = 0; shard < kShards; ++shard) {
      running +=
          lines_[shard * lines_per_shard_ + i / 8].count[i % 8].load(std::memory_order_relaxed);
    }
    s.cumulative.push_back(running);
  }
  s.count = running;
  for (std::size_t shard = 0; shard < kShards; ++shard) {
    s.sum += sums_[shard].value.load(std::memory_order_relaxed);
  }
  return s;
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(std::vector<std::string> values) {
  AM_CHECK_MSG(values.size() == label_count_, "label value count differs from label names");
  std::lock_guard lock(mu_);
  auto& slot = children_[std::move(values)];
  if (!slot) {
    slot = factory_();
  }
  return *slot;
}

template <typename Metric>
void Family<Metric>::ForEach(
    const std::function<void(const std::vector<std::string>&, const Metric&)>& fn) const {
  std::lock_guard lock(mu_);
  for (const auto& [values, metric] : children_) {
    fn(values, *metric);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<std::string> label_names;
  std::unique_ptr<Family<Counter>> counters;
  std::unique_ptr<Family<Gauge>> gauges;
  std::unique_ptr<Family<Histogram>> histograms;
  SampleFn callback;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry& Registry::Add(std::string name, std::string help, MetricType type,
                               std::vector<std::string> label_names) {
  AM_CHECK_MSG(ValidMetricName(name), "invalid metric name");
  for (const auto& label : label_names) {
    AM_CHECK_MSG(ValidLabelName(label), "invalid label name");
    AM_CHECK_MSG(type != MetricType::kHistogram || label != "le", "label le is reserved");
  }
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    AM_CHECK_MSG(e->name != name, "metric registered twice");
  }
  auto entry = std::make_unique<Entry>();
  entry->name = std::move(name);
  entry->help = std::move(help);
  entry->type = type;
  entry->label_names = std::move(label_names);
  entries_.push_back(std::move(entry));
  return *entries_.back();
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
  Entry& e = Add(std::move(name), std::move(help), MetricType::kCounter, std::move(label_names));
  e.counters = std::make_unique<Family<Counter>>(e.label_names.size(),
                                                 [] { return std::make_unique<Counter>(); });
  return *e.counters;
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> label_names) {
  Entry& e = Add(std::move(name), std::move(help), MetricType::kGauge, std::move(label_names));
  e.gauges = std::make_unique<Family<Gauge>>(e.label_names.size(),
                                             [] { return std::make_unique<Gauge>(); });
  return *e.gauges;
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  Histogram probe(bounds);  // validates the bounds once, at registration
  Entry& e = Add(std::move(name), std::move(help), MetricType::kHistogram, std::move(label_names));
  e.histograms = std::make_unique<Family<Histogram>>(
      e.label_names.size(), [bounds] { return std::make_unique<Histogram>(bounds); });
  return *e.histograms;
}

void Registry::AddCallback(std::string name, std::string help, MetricType type,
                           std::vector<std::string> label_names, SampleFn fn) {
  AM_CHECK_MSG(type != MetricType::kHistogram, "callback families are counters or gauges");
  Entry& e = Add(std::move(name), std::move(help), type, std::move(label_names));
  e.callback = std::move(fn);
}

std::string Registry::Render() const {
  std::vector<const Entry*> entries;
  {
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) {
      entries.push_back(e.get());
    }
  }
  std::string out;
  out.reserve(4096);
  for (const Entry* e : entries) {
    out += "# HELP ";
    out += e->name;
    out += ' ';
    out += EscapeHelp(e->help);
    out += "\n# TYPE ";
    out += e->name;
    out += ' ';
    out += MetricTypeName(e->type);
    out += '\n';
    if (e->callback) {
      std::vector<Sample> samples = e->callback();
      std::sort(samples.begin(), samples.end(),
                [](const Sample& a, const Sample& b) { return a.label_values < b.label_values; });
      for (const Sample& s : samples) {
        AppendSample(out, e->name, e->label_names, s.label_values, FormatSampleValue(s.value));
      }
    } else if (e->counters) {
      e->counters->ForEach([&](const std::vector<std::string>& values, const Counter& c) {
        AppendSample(out, e->name, e->label_names, values, std::to_string(c.Value()));
      });
    } else if (e->gauges) {
      e->gauges->ForEach([&](const std::vector<std::string>& values, const Gauge& g) {
        AppendSample(out, e->name, e->label_names, values, FormatSampleValue(g.Value()));
      });
    } else if (e->histograms) {
      const std::string bucket = e->name + "_bucket";
      const std::string sum = e->name + "_sum";
      const std::string count = e->name + "_count";
      e->histograms->ForEach([&](const std::vector<std::string>& values, const Histogram& h) {
        Histogram::Snapshot s = h.Snap();
        for (std::size_t i = 0; i < s.bounds.size(); ++i) {
          AppendSample(out, bucket, e->label_names, values, std::to_string(s.cumulative[i]), "le",
                       FormatSampleValue(s.bounds[i]));
        }
        AppendSample(out, bucket, e->label_names, values, std::to_string(s.count), "le", "+Inf");
        AppendSample(out, sum, e->label_names, values, FormatSampleValue(s.sum));
        AppendSample(out, count, e->label_names, values, std::to_string(s.count));
      });
    }
  }
  return out;
}

}  // namespace agentmesh::observe
