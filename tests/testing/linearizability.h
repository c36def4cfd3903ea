// Linearizability checker for recorded histories: Wing & Gong's search with Lowe's
// memoisation of (set of linearized ops, model state) pairs, as in Porcupine and Knossos.
// CheckPartitioned() applies P-compositionality: each key (lock name, election name) is
// checked on its own.
//
// Test-only and header-only. Check() and CheckPartitioned() are pure functions of their
// arguments; call them from any thread. The models live in testing/coord_models.h and
// histories come from testing/history_recorder.h or are built by hand.
#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "agentmesh/core/clock.h"

namespace agentmesh::testing {

// What a checker model offers. Step() returns nullopt when `output` is impossible from
// `state`; StepUnknown() returns every state the input may lead to when it took effect
// with an output nobody saw (the checker adds "it never took effect" itself).
// Two optional members prune the search and must be exact, or violations go unseen:
//   bool IsReadOnly(const Input&, const Output&): Step() with them never changes the state.
//   bool IsDead(const State&, const Input&): an unknown op that has not taken effect by this
//     state never will (e.g. its session ended), nor in any state reachable from it.
template <typename M>
concept LinearizabilityModel =
    std::equality_comparable<typename M::State> && std::default_initializable<typename M::Output> &&
    requires(const M& m, const typename M::State& s, const typename M::Input& in,
             const typename M::Output& out) {
      { m.Init() } -> std::same_as<typename M::State>;
      { m.Step(s, in, out) } -> std::same_as<std::optional<typename M::State>>;
      { m.StepUnknown(s, in) } -> std::same_as<std::vector<typename M::State>>;
      { m.Hash(s) } -> std::convertible_to<std::size_t>;
      { m.DescribeInput(in) } -> std::convertible_to<std::string>;
      { m.DescribeOutput(out) } -> std::convertible_to<std::string>;
      { m.DescribeState(s) } -> std::convertible_to<std::string>;
    };

// One operation of a history: `client` called `input` at `call` and got `output` at `ret`.
// Without `ret` the outcome is unknown (e.g. the server was SIGKILLed mid-call): the op may
// or may not have taken effect, at any time after `call`; `output` is then ignored.
template <typename Model>
struct Op {
  int client = 0;
  typename Model::Input input;
  typename Model::Output output{};
  core::TimePoint call;
  std::optional<core::TimePoint> ret;
};

struct CheckResult {
  enum class Kind { kOk, kViolation, kTimeout };
  Kind kind = Kind::kOk;
  // On violation: the longest linearizable prefix found and the op that cannot be placed.
  std::string explanation;

  bool ok() const { return kind == Kind::kOk; }
  friend std::ostream& operator<<(std::ostream& os, const CheckResult& r) {
    static constexpr const char* kNames[] = {"ok", "violation", "timeout"};
    os << kNames[static_cast<int>(r.kind)];
    if (!r.explanation.empty()) {
      os << ": " << r.explanation;
    }
    return os;
  }
};

namespace linearizability_internal {

// A fixed-size set of op indices.
class OpSet {
 public:
  explicit OpSet(std::size_t n) : words_((n + 63) / 64, 0) {}
  void Set(std::size_t i) { words_[i / 64] |= std::uint64_t{1} << (i % 64); }
  void Reset(std::size_t i) { words_[i / 64] &= ~(std::uint64_t{1} << (i % 64)); }
  std::size_t Hash() const {
    std::size_t h = 0x9e3779b97f4a7c15ULL;
    for (std::uint64_t w : words_) {
      h ^= std::hash<std::uint64_t>{}(w) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    }
    return h;
  }
  friend bool operator==(const OpSet&, const OpSet&) = default;

 private:
  std::vector<std::uint64_t> words_;
};

// A call or return event in the doubly linked list Wing & Gong's search walks.
struct Entry {
  bool is_call = true;
  std::size_t op = 0;
  std::size_t match = 0;  // the other entry of the same op
  std::size_t prev = 0;
  std::size_t next = 0;
};

inline std::string FormatOffset(core::TimePoint t, core::TimePoint origin) {
  std::ostringstream os;
  os << std::chrono::duration<double, std::milli>(t - origin).count() << "ms";
  return os.str();
}

template <typename Model>
std::string DescribeOp(const Model& model, const Op<Model>& op, core::TimePoint origin) {
  std::ostringstream os;
  os << "client " << op.client << ": " << model.DescribeInput(op.input) << " -> "
     << (op.ret ? model.DescribeOutput(op.output) : std::string("unknown")) << " [call "
     << FormatOffset(op.call, origin) << ", return "
     << (op.ret ? FormatOffset(*op.ret, origin) : std::string("never")) << "]";
  return os.str();
}

// How many ops of the longest prefix a violation report shows.
inline constexpr std::size_t kExplainedPrefixOps = 30;

// One run of the search over one history.
template <typename Model>
class Search {
 public:
  using State = typename Model::State;

  Search(const Model& model, std::vector<Op<Model>> history)
      : model_(model), history_(std::move(history)), linearized_(history_.size()) {
    std::stable_sort(history_.begin(), history_.end(),
                     [](const Op<Model>& a, const Op<Model>& b) { return a.call < b.call; });
    BuildList();
  }

  CheckResult Run(const core::Clock& clock, core::TimePoint deadline) {
    State state = model_.Init();
    std::size_t cursor = entries_[0].next;
    std::size_t steps = 0;
    bool fresh = true;  // nothing tried yet from the current node
    while (known_left_ > 0) {
      if (steps++ % 1024 == 0 && clock.Now() >= deadline) {
        return {CheckResult::Kind::kTimeout, "gave up with " + std::to_string(stack_.size()) +
                                                 " of " + std::to_string(history_.size()) +
                                                 " ops linearized"};
      }
      bool dead_end = false;
      if (fresh) {
        fresh = false;
        if (auto forced = FindForced(state)) {
          // Committing a forced op loses no linearization, so its failure fails this node.
          if (Push(forced->first, state, {std::move(forced->second)}, 0, true, state)) {
            cursor = entries_[0].next;
            fresh = true;
            continue;
          }
          dead_end = true;
        }
      }
      if (!dead_end) {
        const Entry& entry = entries_[cursor];
        if (entry.is_call) {
          if (Push(cursor, state, Successors(state, entry.op), 0, false, state)) {
            cursor = entries_[0].next;
            fresh = true;
          } else {
            cursor = entry.next;
          }
          continue;
        }
        // This op returned before it could be linearized.
        RecordBest(entry.op, state);
      }
      if (!Backtrack(state, cursor, fresh)) {
        return Violation();
      }
    }
    return {};
  }

 private:
  struct Frame {
    std::size_t call;
    State before;
    std::vector<State> alternatives;
    std::size_t next_alternative;
    bool forced;
  };
  struct MemoKey {
    OpSet linearized;
    State state;
    bool operator==(const MemoKey&) const = default;
  };
  struct MemoHash {
    const Model* model;
    std::size_t operator()(const MemoKey& k) const {
      return k.linearized.Hash() ^ (static_cast<std::size_t>(model->Hash(k.state)) * 31);
    }
  };

  // Sorts calls and returns by time into a linked list headed by entry 0. At equal times
  // calls come first, so touching ops count as concurrent; unknown outcomes return last.
  void BuildList() {
    const std::size_t n = history_.size();
    struct Event {
      bool unknown;
      core::TimePoint time;
      bool is_return;
      std::size_t op;
    };
    std::vector<Event> events;
    for (std::size_t i = 0; i < n; ++i) {
      const Op<Model>& op = history_[i];
      events.push_back({false, op.call, false, i});
      events.push_back({!op.ret, op.ret ? std::max(*op.ret, op.call) : op.call, true, i});
      known_left_ += op.ret ? 1 : 0;
    }
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      return std::tie(a.unknown, a.time, a.is_return, a.op) <
             std::tie(b.unknown, b.time, b.is_return, b.op);
    });
    entries_.resize(2 * n + 1);
    std::vector<std::size_t> call_entry(n);
    for (std::size_t k = 0; k < events.size(); ++k) {
      const std::size_t e = k + 1;
      entries_[e] = Entry{!events[k].is_return, events[k].op, 0, e - 1, e + 1};
      if (events[k].is_return) {
        entries_[e].match = call_entry[events[k].op];
        entries_[call_entry[events[k].op]].match = e;
      } else {
        call_entry[events[k].op] = e;
      }
    }
    entries_[0].next = n == 0 ? 0 : 1;
    entries_[2 * n].next = 0;
  }

  void Unlink(std::size_t e) {
    entries_[entries_[e].prev].next = entries_[e].next;
    if (entries_[e].next != 0) {
      entries_[entries_[e].next].prev = entries_[e].prev;
    }
  }
  void Relink(std::size_t e) {
    entries_[entries_[e].prev].next = e;
    if (entries_[e].next != 0) {
      entries_[entries_[e].next].prev = e;
    }
  }
  bool Known(std::size_t call) const { return history_[entries_[call].op].ret.has_value(); }

  // The states the op may lead to. An unknown op that never took effect is left for the end,
  // where leaving it out is always possible.
  std::vector<State> Successors(const State& s, std::size_t i) const {
    const Op<Model>& op = history_[i];
    if (!op.ret) {
      return model_.StepUnknown(s, op.input);
    }
    std::vector<State> out;
    if (std::optional<State> next = model_.Step(s, op.input, op.output)) {
      out.push_back(std::move(*next));
    }
    return out;
  }

  // Finds a pending op that can be linearized now without losing any linearization: a
  // read-only op that is possible here, or an unknown op that can no longer take effect.
  std::optional<std::pair<std::size_t, State>> FindForced(const State& s) const {
    for (std::size_t e = entries_[0].next; e != 0 && entries_[e].is_call; e = entries_[e].next) {
      const Op<Model>& op = history_[entries_[e].op];
      if (op.ret) {
        if constexpr (requires { model_.IsReadOnly(op.input, op.output); }) {
          if (model_.IsReadOnly(op.input, op.output)) {
            if (std::optional<State> next = model_.Step(s, op.input, op.output)) {
              return std::pair{e, std::move(*next)};
            }
          }
        }
      } else {
        if constexpr (requires { model_.IsDead(s, op.input); }) {
          if (model_.IsDead(s, op.input)) {
            return std::pair{e, s};
          }
        }
      }
    }
    return std::nullopt;
  }

  // Linearizes the op of `call` with the first alternative from `from` not explored yet.
  bool Push(std::size_t call, State before, std::vector<State> alternatives, std::size_t from,
            bool forced, State& state) {
    const std::size_t op = entries_[call].op;
    linearized_.Set(op);
    for (std::size_t k = from; k < alternatives.size(); ++k) {
      if (memo_.insert(MemoKey{linearized_, alternatives[k]}).second) {
        state = std::move(alternatives[k]);  // later retries start after k
        stack_.push_back(Frame{call, std::move(before), std::move(alternatives), k + 1, forced});
        Unlink(call);
        Unlink(entries_[call].match);
        known_left_ -= Known(call) ? 1 : 0;
        return true;
      }
    }
    linearized_.Reset(op);
    return false;
  }

  // Undoes linearizations up to the latest one with an untried choice; false when none is left.
  bool Backtrack(State& state, std::size_t& cursor, bool& fresh) {
    while (!stack_.empty()) {
      Frame frame = std::move(stack_.back());
      stack_.pop_back();
      Relink(entries_[frame.call].match);
      Relink(frame.call);
      known_left_ += Known(frame.call) ? 1 : 0;
      linearized_.Reset(entries_[frame.call].op);
      state = frame.before;
      if (frame.forced) {
        continue;
      }
      fresh = Push(frame.call, std::move(frame.before), std::move(frame.alternatives),
                   frame.next_alternative, false, state);
      cursor = fresh ? entries_[0].next : entries_[frame.call].next;
      return true;
    }
    return false;
  }

  void RecordBest(std::size_t blocked_op, const State& state) {
    if (best_state_ && stack_.size() <= best_prefix_.size()) {
      return;
    }
    best_prefix_.clear();
    for (const Frame& f : stack_) {
      best_prefix_.emplace_back(entries_[f.call].op, f.forced);
    }
    best_state_ = state;
    blocked_op_ = blocked_op;
  }

  CheckResult Violation() const {
    const core::TimePoint origin = history_.front().call;
    std::ostringstream os;
    os << "history of " << history_.size()
       << " ops is not linearizable; longest linearizable prefix has " << best_prefix_.size()
       << " ops";
    const std::size_t shown = std::min(best_prefix_.size(), kExplainedPrefixOps);
    if (shown < best_prefix_.size()) {
      os << " (last " << shown << " shown)";
    }
    os << ":\n";
    for (std::size_t k = best_prefix_.size() - shown; k < best_prefix_.size(); ++k) {
      const auto& [op, forced] = best_prefix_[k];
      os << "  " << k + 1 << ". " << DescribeOp(model_, history_[op], origin);
      if (!history_[op].ret) {
        os << (forced ? " (no effect)" : " (took effect)");
      }
      os << "\n";
    }
    os << "state after it: " << model_.DescribeState(*best_state_) << "\n"
       << "cannot place: " << DescribeOp(model_, history_[blocked_op_], origin);
    return {CheckResult::Kind::kViolation, os.str()};
  }

  const Model& model_;
  std::vector<Op<Model>> history_;
  std::vector<Entry> entries_;
  std::size_t known_left_ = 0;
  OpSet linearized_;
  std::vector<Frame> stack_;
  std::unordered_set<MemoKey, MemoHash> memo_{1024, MemoHash{&model_}};
  std::vector<std::pair<std::size_t, bool>> best_prefix_;  // op, forced
  std::optional<State> best_state_;
  std::size_t blocked_op_ = 0;
};

}  // namespace linearizability_internal

// Checks whether `history` is linearizable with respect to `model`, giving up with kTimeout
// after `budget` of real time. Ops with unknown outcomes may take effect at any time after
// their call, or never.
template <LinearizabilityModel Model>
CheckResult Check(const Model& model, std::vector<Op<Model>> history,
                  std::chrono::milliseconds budget) {
  const core::Clock& clock = core::SystemClock::Instance();
  const core::TimePoint deadline = clock.Now() + budget;
  linearizability_internal::Search<Model> search(model, std::move(history));
  CheckResult result = search.Run(clock, deadline);
  if (result.kind == CheckResult::Kind::kTimeout) {
    result.explanation = "after " + std::to_string(budget.count()) + "ms " + result.explanation;
  }
  return result;
}

// Splits `history` by key_of(op.input), which returns a key or std::optional of one (nullopt:
// the op touches every key, e.g. a session expiry), and checks each key on its own within one
// overall `budget`. Any violation wins over a timeout.
template <LinearizabilityModel Model, typename KeyFn>
CheckResult CheckPartitioned(const Model& model, std::vector<Op<Model>> history, KeyFn key_of,
                             std::chrono::milliseconds budget) {
  using Returned = std::invoke_result_t<KeyFn&, const typename Model::Input&>;
  const core::Clock& clock = core::SystemClock::Instance();
  const core::TimePoint deadline = clock.Now() + budget;
  auto as_optional = [&key_of](const typename Model::Input& in) {
    if constexpr (requires(Returned r) {
                    r.has_value();
                    *r;
                  }) {
      return key_of(in);
    } else {
      return std::optional<Returned>(key_of(in));
    }
  };
  using Key = typename decltype(as_optional(history.front().input))::value_type;
  std::map<Key, std::vector<Op<Model>>> partitions;
  std::vector<Op<Model>> everywhere;
  for (Op<Model>& op : history) {
    if (auto key = as_optional(op.input)) {
      partitions[*key].push_back(std::move(op));
    } else {
      everywhere.push_back(std::move(op));
    }
  }
  CheckResult result;
  for (auto& [key, ops] : partitions) {
    ops.insert(ops.end(), everywhere.begin(), everywhere.end());
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(deadline - clock.Now(), core::Duration::zero()));
    CheckResult one = Check(model, std::move(ops), left);
    if (one.ok()) {
      continue;
    }
    std::ostringstream os;
    os << "key " << key << ": " << one.explanation;
    one.explanation = os.str();
    if (one.kind == CheckResult::Kind::kViolation) {
      return one;
    }
    if (result.ok()) {
      result = std::move(one);
    }
  }
  return result;
}

}  // namespace agentmesh::testing
