// Sequential specifications of the coordination primitives, for the linearizability checker
// (testing/linearizability.h): LockModel for one lock name, ElectionModel for one election.
// Both are permissive where the API allows it (a refused acquire or a lost campaign changes
// nothing and is always possible) and strict on the safety invariants: exclusive means alone,
// fencing tokens and terms strictly grow, at most one leader per term.
//
// Test-only and header-only; the models are stateless values, safe to share across threads.
// Inputs carry the lock or election name so that CheckPartitioned() can split a history with
// LockKey / ElectionKey; an empty name means "every name" (a session expiry).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace agentmesh::testing {

enum class LockMode { kExclusive, kShared };

struct LockInput {
  enum class Kind { kAcquire, kRelease, kExpire };
  Kind kind = Kind::kAcquire;
  std::string lock;  // empty for an expiry that touches every lock
  std::string session;
  LockMode mode = LockMode::kExclusive;

  static LockInput Acquire(std::string lock, std::string session, LockMode mode) {
    return {Kind::kAcquire, std::move(lock), std::move(session), mode};
  }
  static LockInput Release(std::string lock, std::string session) {
    return {Kind::kRelease, std::move(lock), std::move(session)};
  }
  // The session ended (expired or destroyed): its holds go away and it acquires nothing more.
  static LockInput Expire(std::string lock, std::string session) {
    return {Kind::kExpire, std::move(lock), std::move(session)};
  }
};

struct LockOutput {
  enum class Kind { kGranted, kRefused, kOk, kNotHolder };
  Kind kind = Kind::kOk;
  std::uint64_t token = 0;  // kGranted only

  static LockOutput Granted(std::uint64_t token) { return {Kind::kGranted, token}; }
  static LockOutput Refused() { return {Kind::kRefused}; }
  static LockOutput Ok() { return {Kind::kOk}; }
  static LockOutput NotHolder() { return {Kind::kNotHolder}; }
};

// Returns the partition key of a lock op: its lock name, or nullopt for every lock.
inline std::optional<std::string> LockKey(const LockInput& in) {
  return in.lock.empty() ? std::nullopt : std::optional<std::string>(in.lock);
}

inline std::size_t CombineHash(std::size_t seed, std::size_t v) {
  return seed ^ (v + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

// Sessions that ended: they hold nothing and are granted nothing any more.
using EndedSessions = std::set<std::string>;

inline std::size_t HashSessions(std::size_t seed, const EndedSessions& sessions) {
  for (const std::string& session : sessions) {
    seed = CombineHash(seed, std::hash<std::string>{}(session));
  }
  return seed;
}

class LockModel {
 public:
  using Input = LockInput;
  using Output = LockOutput;

  struct Holder {
    std::string session;
    LockMode mode = LockMode::kExclusive;
    std::optional<std::uint64_t> token;  // nullopt: granted by an op whose answer was lost
    friend bool operator==(const Holder&, const Holder&) = default;
  };
  struct State {
    std::vector<Holder> holders;  // sorted by session
    // Lower bound for the next token: above every token granted so far.
    std::uint64_t min_token = 1;
    EndedSessions ended;
    friend bool operator==(const State&, const State&) = default;
  };

  State Init() const { return {}; }

  std::optional<State> Step(const State& s, const Input& in, const Output& out) const {
    const bool holds = Find(s, in.session) != s.holders.end();
    switch (out.kind) {
      case Output::Kind::kRefused:
        return in.kind == Input::Kind::kAcquire ? std::optional(s) : std::nullopt;
      case Output::Kind::kGranted:
        return in.kind == Input::Kind::kAcquire ? Grant(s, in, out.token) : std::nullopt;
      case Output::Kind::kNotHolder:
        return in.kind == Input::Kind::kRelease && !holds ? std::optional(s) : std::nullopt;
      case Output::Kind::kOk:
        if (in.kind == Input::Kind::kExpire) {
          return End(s, in.session);
        }
        return in.kind == Input::Kind::kRelease ? Remove(s, in.session) : std::nullopt;
    }
    return std::nullopt;
  }

  std::vector<State> StepUnknown(const State& s, const Input& in) const {
    std::vector<State> out;
    switch (in.kind) {
      case Input::Kind::kExpire:
        out.push_back(End(s, in.session));
        break;
      case Input::Kind::kAcquire:
        if (Find(s, in.session) == s.holders.end() && Compatible(s, in.mode) &&
            !s.ended.contains(in.session)) {
          State next = s;
          Insert(next, Holder{in.session, in.mode, std::nullopt});
          next.min_token += 1;
          out.push_back(std::move(next));
        }
        break;
      case Input::Kind::kRelease:
        if (std::optional<State> next = Remove(s, in.session)) {
          out.push_back(std::move(*next));
        }
        break;
    }
    return out;
  }

  // A refusal or a not_holder answer changes nothing.
  bool IsReadOnly(const Input& in, const Output& out) const {
    return (in.kind == Input::Kind::kAcquire && out.kind == Output::Kind::kRefused) ||
           (in.kind == Input::Kind::kRelease && out.kind == Output::Kind::kNotHolder);
  }
  // An ended session's lost acquire or release can no longer take effect.
  bool IsDead(const State& s, const Input& in) const {
    return in.kind != Input::Kind::kExpire && s.ended.contains(in.session) &&
           Find(s, in.session) == s.holders.end();
  }

  std::size_t Hash(const State& s) const {
    std::size_t h = HashSessions(std::hash<std::uint64_t>{}(s.min_token), s.ended);
    for (const Holder& holder : s.holders) {
      h = CombineHash(h, std::hash<std::string>{}(holder.session));
      h = CombineHash(h, static_cast<std::size_t>(holder.mode));
      h = CombineHash(h, holder.token ? std::hash<std::uint64_t>{}(*holder.token) : 0x51ed);
    }
    return h;
  }

  std::string DescribeInput(const Input& in) const {
    static constexpr const char* kNames[] = {"acquire(", "release(", "expire("};
    std::string text = kNames[static_cast<int>(in.kind)] + (in.lock.empty() ? "*" : in.lock);
    text += ", " + in.session;
    return text + (in.kind == Input::Kind::kAcquire ? ", " + ModeName(in.mode) : "") + ")";
  }
  std::string DescribeOutput(const Output& out) const {
    static constexpr const char* kNames[] = {"granted", "refused", "ok", "not_holder"};
    const std::string text = kNames[static_cast<int>(out.kind)];
    return out.kind == Output::Kind::kGranted ? text + "(" + std::to_string(out.token) + ")" : text;
  }
  std::string DescribeState(const State& s) const {
    std::string text = "holders {";
    for (const Holder& holder : s.holders) {
      text += (text.back() == '{' ? "" : ", ") + holder.session + " " + ModeName(holder.mode) +
              " token " + (holder.token ? std::to_string(*holder.token) : std::string("?"));
    }
    return text + "}, next token >= " + std::to_string(s.min_token);
  }

 private:
  static std::string ModeName(LockMode mode) {
    return mode == LockMode::kExclusive ? "exclusive" : "shared";
  }
  static std::vector<Holder>::const_iterator Find(const State& s, const std::string& session) {
    return std::find_if(s.holders.begin(), s.holders.end(),
                        [&](const Holder& h) { return h.session == session; });
  }
  static bool Compatible(const State& s, LockMode mode) {
    return std::none_of(s.holders.begin(), s.holders.end(), [&](const Holder& h) {
      return mode == LockMode::kExclusive || h.mode == LockMode::kExclusive;
    });
  }
  static void Insert(State& s, Holder holder) {
    auto at =
        std::lower_bound(s.holders.begin(), s.holders.end(), holder,
                         [](const Holder& a, const Holder& b) { return a.session < b.session; });
    s.holders.insert(at, std::move(holder));
  }
  // Returns the state without `session`'s hold, or nullopt when it holds nothing.
  static std::optional<State> Remove(const State& s, const std::string& session) {
    auto it = Find(s, session);
    if (it == s.holders.end()) {
      return std::nullopt;
    }
    State next = s;
    next.holders.erase(next.holders.begin() + (it - s.holders.begin()));
    return next;
  }
  static State End(const State& s, const std::string& session) {
    State next = Remove(s, session).value_or(s);
    next.ended.insert(session);
    return next;
  }
  static std::optional<State> Grant(const State& s, const Input& in, std::uint64_t token) {
    auto it = Find(s, in.session);
    if (it != s.holders.end()) {
      // Re-acquiring in the same mode is idempotent and answers the existing token.
      if (it->mode != in.mode || (it->token && *it->token != token)) {
        return std::nullopt;
      }
      State next = s;
      next.holders[it - s.holders.begin()].token = token;
      next.min_token = std::max(next.min_token, token + 1);
      return next;
    }
    if (!Compatible(s, in.mode) || token < s.min_token || s.ended.contains(in.session)) {
      return std::nullopt;
    }
    State next = s;
    Insert(next, Holder{in.session, in.mode, token});
    next.min_token = token + 1;
    return next;
  }
};

struct ElectionInput {
  enum class Kind { kCampaign, kResign, kGet, kExpire };
  Kind kind = Kind::kGet;
  std::string election;  // empty for an expiry that touches every election
  std::string session;   // empty for kGet

  static ElectionInput Campaign(std::string election, std::string session) {
    return {Kind::kCampaign, std::move(election), std::move(session)};
  }
  static ElectionInput Resign(std::string election, std::string session) {
    return {Kind::kResign, std::move(election), std::move(session)};
  }
  static ElectionInput Get(std::string election) { return {Kind::kGet, std::move(election)}; }
  // The session ended: it loses the leadership it holds and is elected no more.
  static ElectionInput Expire(std::string election, std::string session) {
    return {Kind::kExpire, std::move(election), std::move(session)};
  }
};

struct ElectionOutput {
  enum class Kind { kElected, kNotElected, kOk, kNotLeader, kLeader, kNone };
  Kind kind = Kind::kOk;
  std::string session;     // kLeader only
  std::uint64_t term = 0;  // kElected and kLeader

  static ElectionOutput Elected(std::uint64_t term) { return {Kind::kElected, "", term}; }
  static ElectionOutput NotElected() { return {Kind::kNotElected}; }
  static ElectionOutput Ok() { return {Kind::kOk}; }
  static ElectionOutput NotLeader() { return {Kind::kNotLeader}; }
  static ElectionOutput Leader(std::string session, std::uint64_t term) {
    return {Kind::kLeader, std::move(session), term};
  }
  static ElectionOutput None() { return {Kind::kNone}; }
};

// Returns the partition key of an election op: its name, or nullopt for every election.
inline std::optional<std::string> ElectionKey(const ElectionInput& in) {
  return in.election.empty() ? std::nullopt : std::optional<std::string>(in.election);
}

class ElectionModel {
 public:
  using Input = ElectionInput;
  using Output = ElectionOutput;

  struct Leader {
    std::string session;
    std::optional<std::uint64_t> term;  // nullopt: elected by a campaign whose answer was lost
    friend bool operator==(const Leader&, const Leader&) = default;
  };
  struct State {
    std::optional<Leader> leader;
    // Lower bound for the next term: above every term handed out so far.
    std::uint64_t min_term = 1;
    EndedSessions ended;
    friend bool operator==(const State&, const State&) = default;
  };

  State Init() const { return {}; }

  std::optional<State> Step(const State& s, const Input& in, const Output& out) const {
    const bool is_leader = s.leader && s.leader->session == in.session;
    using K = Input::Kind;
    switch (out.kind) {
      case Output::Kind::kNotElected:
        return in.kind == K::kCampaign ? std::optional(s) : std::nullopt;
      case Output::Kind::kElected:
        if (in.kind != K::kCampaign || (s.leader && !is_leader)) {
          return std::nullopt;
        }
        // Campaigning again while leader answers the current term.
        return is_leader ? LearnTerm(s, out.term) : Elect(s, in.session, out.term);
      case Output::Kind::kNotLeader:
        return in.kind == K::kResign && !is_leader ? std::optional(s) : std::nullopt;
      case Output::Kind::kOk:
        if (in.kind == K::kExpire) {
          return End(s, in.session);
        }
        return in.kind == K::kResign && is_leader ? std::optional(Vacate(s)) : std::nullopt;
      case Output::Kind::kNone:
        return in.kind == K::kGet && !s.leader ? std::optional(s) : std::nullopt;
      case Output::Kind::kLeader:
        if (in.kind != K::kGet || !s.leader || s.leader->session != out.session) {
          return std::nullopt;
        }
        return LearnTerm(s, out.term);
    }
    return std::nullopt;
  }

  std::vector<State> StepUnknown(const State& s, const Input& in) const {
    const bool is_leader = s.leader && s.leader->session == in.session;
    std::vector<State> out;
    switch (in.kind) {
      case Input::Kind::kCampaign:
        if (!s.leader && !s.ended.contains(in.session)) {
          out.push_back(s);
          out.back().leader = Leader{in.session, std::nullopt};
          out.back().min_term += 1;
        }
        break;
      case Input::Kind::kResign:
        if (is_leader) {
          out.push_back(Vacate(s));
        }
        break;
      case Input::Kind::kExpire:
        out.push_back(End(s, in.session));
        break;
      case Input::Kind::kGet:
        break;
    }
    return out;
  }

  // A lost campaign, a not_leader answer or an empty read changes nothing. (A read naming
  // the leader may learn its term, so it does not count.)
  bool IsReadOnly(const Input& in, const Output& out) const {
    return (in.kind == Input::Kind::kCampaign && out.kind == Output::Kind::kNotElected) ||
           (in.kind == Input::Kind::kResign && out.kind == Output::Kind::kNotLeader) ||
           (in.kind == Input::Kind::kGet && out.kind == Output::Kind::kNone);
  }
  // An ended session's lost campaign or resignation, or any lost read, can no longer matter.
  bool IsDead(const State& s, const Input& in) const {
    return in.kind == Input::Kind::kGet ||
           (in.kind != Input::Kind::kExpire && s.ended.contains(in.session) &&
            !(s.leader && s.leader->session == in.session));
  }

  std::size_t Hash(const State& s) const {
    std::size_t h = HashSessions(std::hash<std::uint64_t>{}(s.min_term), s.ended);
    if (s.leader) {
      h = CombineHash(h, std::hash<std::string>{}(s.leader->session));
      h = CombineHash(h, s.leader->term ? std::hash<std::uint64_t>{}(*s.leader->term) : 0x51ed);
    }
    return h;
  }

  std::string DescribeInput(const Input& in) const {
    static constexpr const char* kNames[] = {"campaign(", "resign(", "get(", "expire("};
    std::string text = kNames[static_cast<int>(in.kind)];
    text += in.election.empty() ? "*" : in.election;
    return text + (in.session.empty() ? "" : ", " + in.session) + ")";
  }
  std::string DescribeOutput(const Output& out) const {
    static constexpr const char* kNames[] = {"elected",    "not_elected", "ok",
                                             "not_leader", "leader",      "none"};
    std::string text = kNames[static_cast<int>(out.kind)];
    if (out.kind == Output::Kind::kLeader) {
      return text + "(" + out.session + ", " + std::to_string(out.term) + ")";
    }
    return out.kind == Output::Kind::kElected ? text + "(" + std::to_string(out.term) + ")" : text;
  }
  std::string DescribeState(const State& s) const {
    std::string text = "no leader";
    if (s.leader) {
      text = "leader " + s.leader->session + " term " +
             (s.leader->term ? std::to_string(*s.leader->term) : std::string("?"));
    }
    return text + ", next term >= " + std::to_string(s.min_term);
  }

 private:
  static std::optional<State> Elect(const State& s, const std::string& session,
                                    std::uint64_t term) {
    if (term < s.min_term || s.ended.contains(session)) {
      return std::nullopt;
    }
    State next = s;
    next.leader = Leader{session, term};
    next.min_term = term + 1;
    return next;
  }
  static State End(const State& s, const std::string& session) {
    State next = s.leader && s.leader->session == session ? Vacate(s) : s;
    next.ended.insert(session);
    return next;
  }
  static State Vacate(const State& s) {
    State next = s;
    next.leader.reset();
    return next;
  }
  // Checks `term` against the current leader's, or learns it when the election's answer was
  // lost: that term was then at least min_term - 1, and nobody was elected since.
  static std::optional<State> LearnTerm(const State& s, std::uint64_t term) {
    if (s.leader->term) {
      return *s.leader->term == term ? std::optional<State>(s) : std::nullopt;
    }
    if (term + 1 < s.min_term) {
      return std::nullopt;
    }
    State next = s;
    next.leader->term = term;
    next.min_term = term + 1;
    return next;
  }
};

}  // namespace agentmesh::testing
