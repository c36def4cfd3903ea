#include "agentmesh/observe/trace_store.h"

#include <algorithm>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "agentmesh/core/check.h"
#include "agentmesh/observe/event_journal.h"

namespace agentmesh::observe {
namespace {

constexpr std::size_t kMaxBound = 1'000'000;
constexpr double kNanosPerMilli = 1e6;

double Millis(core::Duration d) { return static_cast<double>(d.count()) / kNanosPerMilli; }

bool IsAgentAttribute(std::string_view key) { return key == "agent.id" || key == "agent.name"; }

// The spans of one trace, with parent links resolved.
class SpanGraph {
 public:
  explicit SpanGraph(std::span<const Span> spans) : spans_(spans), children_(spans.size()) {
    for (std::size_t i = 0; i < spans_.size(); ++i) {
      const int parent = Find(spans_[i].parent_id);
      if (parent < 0 || static_cast<std::size_t>(parent) == i) {
        roots_.push_back(i);
      } else {
        children_[parent].push_back(i);
      }
    }
    const auto by_start = [this](std::size_t a, std::size_t b) {
      return spans_[a].start < spans_[b].start;
    };
    std::stable_sort(roots_.begin(), roots_.end(), by_start);
    for (auto& list : children_) {
      std::stable_sort(list.begin(), list.end(), by_start);
    }
  }

  const std::vector<std::size_t>& roots() const { return roots_; }
  const std::vector<std::size_t>& children(std::size_t i) const { return children_[i]; }

 private:
  int Find(const SpanId& id) const {
    if (!id.valid()) {
      return -1;
    }
    for (std::size_t i = 0; i < spans_.size(); ++i) {
      if (spans_[i].span_id == id) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  std::span<const Span> spans_;
  std::vector<std::vector<std::size_t>> children_;
  std::vector<std::size_t> roots_;
};

boost::json::object SpanToJson(const Span& span) {
  boost::json::object attributes;
  for (const auto& [key, value] : span.attributes) {
    attributes[key] = value;
  }
  boost::json::object out;
  out["span_id"] = span.span_id.Hex();
  out["parent_id"] = span.parent_id.valid() ? boost::json::value(span.parent_id.Hex()) : nullptr;
  out["name"] = span.name;
  out["kind"] = span.kind;
  out["start"] = FormatRfc3339Millis(span.start);
  out["duration_ms"] = Millis(span.duration);
  out["http_status"] = span.http_status;
  out["error"] = span.error;
  out["attributes"] = std::move(attributes);
  return out;
}

}  // namespace

core::Status Validate(const TraceStoreOptions& options) {
  if (options.max_traces == 0 || options.max_traces > kMaxBound) {
    return core::InvalidArgument(
        "invalid_max_traces",
        "max_traces must be between 1 and 1000000, got " + std::to_string(options.max_traces));
  }
  if (options.max_spans_per_trace == 0 || options.max_spans_per_trace > kMaxBound) {
    return core::InvalidArgument("invalid_max_spans_per_trace",
                                 "max_spans_per_trace must be between 1 and 1000000, got " +
                                     std::to_string(options.max_spans_per_trace));
  }
  return core::OkStatus();
}

TraceStore::TraceStore(const TraceStoreOptions& options) : options_(options) {
  AM_CHECK(Validate(options_).ok());
  traces_.reserve(options_.max_traces + 1);
}

void TraceStore::Record(Span span) {
  if (!span.trace_id.valid()) {
    return;
  }
  std::lock_guard lock(mu_);
  auto [it, inserted] = traces_.try_emplace(span.trace_id);
  Trace& trace = it->second;
  if (inserted) {
    trace.key = {span.start, next_seq_++};
    // A new trace usually started last: hinted at the end, the insert walks no tree path
    // (each step of which is a cache miss in a full store).
    by_start_.emplace_hint(by_start_.end(), trace.key, span.trace_id);
  } else if (trace.spans.size() >= options_.max_spans_per_trace) {
    ++trace.dropped;
    ++dropped_spans_;
    return;
  } else if (span.start < trace.key.first) {
    by_start_.erase(trace.key);
    trace.key.first = span.start;
    by_start_.emplace(trace.key, span.trace_id);
  }
  trace.spans.push_back(std::move(span));
  if (traces_.size() > options_.max_traces) {
    auto oldest = by_start_.begin();
    auto victim = traces_.find(oldest->second);
    dropped_spans_ += victim->second.spans.size();
    traces_.erase(victim);
    by_start_.erase(oldest);
  }
}

boost::json::array TraceStore::Recent(const TraceQuery& query) const {
  boost::json::array out;
  std::lock_guard lock(mu_);
  for (auto it = by_start_.rbegin(); it != by_start_.rend() && out.size() < query.limit; ++it) {
    const Trace& trace = traces_.at(it->second);
    const core::WallTime start = trace.key.first;
    core::WallTime end = start;
    bool error = false;
    bool agent_matches = query.agent.empty();
    boost::json::array agents;
    for (const Span& span : trace.spans) {
      end = std::max(
          end, span.start + std::chrono::duration_cast<core::WallTime::duration>(span.duration));
      error = error || span.error;
      for (const auto& [key, value] : span.attributes) {
        if (!IsAgentAttribute(key)) {
          continue;
        }
        agent_matches = agent_matches || value == query.agent;
        if (std::find(agents.begin(), agents.end(), boost::json::value(value)) == agents.end()) {
          agents.emplace_back(value);
        }
      }
    }
    const core::Duration duration = end - start;
    if (!agent_matches || (query.errors_only && !error) || duration < query.min_duration) {
      continue;
    }
    const SpanGraph graph(trace.spans);
    boost::json::object summary;
    summary["trace_id"] = it->second.Hex();
    const std::size_t root = graph.roots().empty() ? 0 : graph.roots().front();
    summary["root"] = trace.spans[root].name;
    summary["start"] = FormatRfc3339Millis(start);
    summary["duration_ms"] = Millis(duration);
    summary["span_count"] = trace.spans.size();
    summary["dropped_spans"] = trace.dropped;
    summary["error"] = error;
    summary["agents"] = std::move(agents);
    out.push_back(std::move(summary));
  }
  return out;
}

std::optional<boost::json::object> TraceStore::Tree(const TraceId& trace_id) const {
  std::lock_guard lock(mu_);
  auto found = traces_.find(trace_id);
  if (found == traces_.end()) {
    return std::nullopt;
  }
  const auto& spans = found->second.spans;
  const SpanGraph graph(spans);
  std::vector<bool> visited(spans.size(), false);
  std::function<boost::json::object(std::size_t)> render = [&](std::size_t i) {
    visited[i] = true;
    boost::json::object node = SpanToJson(spans[i]);
    boost::json::array children;
    for (std::size_t child : graph.children(i)) {
      if (!visited[child]) {
        children.push_back(render(child));
      }
    }
    node["children"] = std::move(children);
    return node;
  };
  boost::json::array roots;
  for (std::size_t root : graph.roots()) {
    roots.push_back(render(root));
  }
  // Spans on a parent cycle (corrupt ids from a caller) are still shown, as roots.
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (!visited[i]) {
      roots.push_back(render(i));
    }
  }
  boost::json::object out;
  out["trace_id"] = trace_id.Hex();
  out["span_count"] = spans.size();
  out["dropped_spans"] = found->second.dropped;
  out["spans"] = std::move(roots);
  return out;
}

std::size_t TraceStore::size() const {
  std::lock_guard lock(mu_);
  return traces_.size();
}

std::uint64_t TraceStore::dropped_spans() const {
  std::lock_guard lock(mu_);
  return dropped_spans_;
}

}  // namespace agentmesh::observe
