#include "testing/linearizability.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "testing/coord_models.h"
#include "testing/history_recorder.h"
#include "testing/manual_clock.h"

namespace agentmesh::testing {
namespace {

using Kind = CheckResult::Kind;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr milliseconds kBudget{1000};
constexpr auto kX = LockMode::kExclusive;
constexpr auto kS = LockMode::kShared;

core::TimePoint At(std::int64_t us) { return core::TimePoint(microseconds(us)); }

Op<LockModel> LockOp(int client, LockInput in, LockOutput out, int call, int ret) {
  return {client, std::move(in), out, At(call), At(ret)};
}
Op<LockModel> LostLockOp(int client, LockInput in, int call) {
  return {client, std::move(in), {}, At(call), std::nullopt};
}
Op<ElectionModel> ElectionOp(int client, ElectionInput in, ElectionOutput out, int call, int ret) {
  return {client, std::move(in), std::move(out), At(call), At(ret)};
}
Op<ElectionModel> LostElectionOp(int client, ElectionInput in, int call) {
  return {client, std::move(in), {}, At(call), std::nullopt};
}

LockInput Acquire(int client, LockMode mode = kX) {
  return LockInput::Acquire("db", "s" + std::to_string(client), mode);
}
LockInput Release(int client) { return LockInput::Release("db", "s" + std::to_string(client)); }
ElectionInput Campaign(int client) {
  return ElectionInput::Campaign("lead", "s" + std::to_string(client));
}

TEST(LinearizabilityTest, SequentialLockHistoryIsLinearizable) {
  std::vector<Op<LockModel>> history = {
      LockOp(1, Acquire(1), LockOutput::Granted(3), 0, 10),
      LockOp(2, Acquire(2), LockOutput::Refused(), 20, 30),
      LockOp(1, Release(1), LockOutput::Ok(), 40, 50),
      LockOp(2, Release(2), LockOutput::NotHolder(), 60, 70),
      LockOp(2, Acquire(2, kS), LockOutput::Granted(9), 80, 90),
      LockOp(2, Release(2), LockOutput::Ok(), 100, 110),
  };
  EXPECT_TRUE(Check(LockModel{}, history, kBudget).ok());
}

TEST(LinearizabilityTest, OverlappingAcquiresAreLinearizableInEitherOrder) {
  // Client 2 called later but was granted first (lower token); client 1's grant follows the
  // release, all inside the overlapping intervals.
  std::vector<Op<LockModel>> history = {
      LockOp(1, Acquire(1), LockOutput::Granted(8), 0, 100),
      LockOp(2, Acquire(2), LockOutput::Granted(5), 10, 20),
      LockOp(2, Release(2), LockOutput::Ok(), 30, 40),
      LockOp(3, Acquire(3), LockOutput::Refused(), 5, 95),
  };
  EXPECT_TRUE(Check(LockModel{}, history, kBudget).ok());
  history[1].output = LockOutput::Refused();
  history.erase(history.begin() + 2);
  EXPECT_TRUE(Check(LockModel{}, history, kBudget).ok());
}

TEST(LinearizabilityTest, TwoOverlappingExclusiveGrantsAreAViolation) {
  std::vector<Op<LockModel>> history = {
      LockOp(1, Acquire(1), LockOutput::Granted(1), 0, 10),
      LockOp(2, Acquire(2), LockOutput::Granted(2), 5, 15),
      LockOp(1, Release(1), LockOutput::Ok(), 20, 30),
  };
  CheckResult result = Check(LockModel{}, history, kBudget);
  ASSERT_EQ(result.kind, Kind::kViolation);
  EXPECT_NE(result.explanation.find("longest linearizable prefix has 1 ops"), std::string::npos)
      << result;
  EXPECT_NE(result.explanation.find("cannot place: client "), std::string::npos) << result;
}

TEST(LinearizabilityTest, DecreasingTokensOfNonOverlappingGrantsAreAViolation) {
  std::vector<Op<LockModel>> history = {
      LockOp(1, Acquire(1), LockOutput::Granted(5), 0, 10),
      LockOp(1, Release(1), LockOutput::Ok(), 20, 30),
      LockOp(2, Acquire(2), LockOutput::Granted(3), 40, 50),
  };
  CheckResult result = Check(LockModel{}, history, kBudget);
  ASSERT_EQ(result.kind, Kind::kViolation);
  EXPECT_NE(result.explanation.find("acquire(db, s2, exclusive) -> granted(3)"), std::string::npos)
      << result;
}

TEST(LinearizabilityTest, OverlappingSharedGrantsAreLinearizable) {
  std::vector<Op<LockModel>> history = {
      LockOp(1, Acquire(1, kS), LockOutput::Granted(1), 0, 10),
      LockOp(2, Acquire(2, kS), LockOutput::Granted(2), 5, 15),
      LockOp(3, Acquire(3), LockOutput::Refused(), 12, 18),
      LockOp(1, Release(1), LockOutput::Ok(), 20, 30),
      LockOp(2, Release(2), LockOutput::Ok(), 20, 30),
  };
  EXPECT_TRUE(Check(LockModel{}, history, kBudget).ok());
}

TEST(LinearizabilityTest, SharedGrantOverlappingAnExclusiveGrantIsAViolation) {
  std::vector<Op<LockModel>> history = {
      LockOp(1, Acquire(1, kS), LockOutput::Granted(1), 0, 10),
      LockOp(2, Acquire(2, kX), LockOutput::Granted(2), 5, 15),
      LockOp(1, Release(1), LockOutput::Ok(), 20, 30),
      LockOp(2, Release(2), LockOutput::Ok(), 20, 30),
  };
  EXPECT_EQ(Check(LockModel{}, history, kBudget).kind, Kind::kViolation);
}

TEST(LinearizabilityTest, UnknownAcquireThatExplainsALaterReleaseIsLinearizable) {
  // The server died while granting client 1; after reconnecting its release succeeds, which
  // only the lost acquire can explain.
  std::vector<Op<LockModel>> history = {
      LostLockOp(1, Acquire(1), 0),
      LockOp(2, Acquire(2), LockOutput::Refused(), 30, 40),
      LockOp(1, Release(1), LockOutput::Ok(), 50, 60),
      LockOp(2, Acquire(2), LockOutput::Granted(7), 70, 80),
  };
  EXPECT_TRUE(Check(LockModel{}, history, kBudget).ok());
}

TEST(LinearizabilityTest, UnknownAcquireThatCannotHaveTakenEffectIsAViolation) {
  // Client 2 holds the lock exclusively throughout, so client 1's lost acquire cannot have
  // been granted and its release cannot succeed.
  std::vector<Op<LockModel>> history = {
      LockOp(2, Acquire(2), LockOutput::Granted(4), 0, 5),
      LostLockOp(1, Acquire(1), 10),
      LockOp(1, Release(1), LockOutput::Ok(), 50, 60),
  };
  CheckResult result = Check(LockModel{}, history, kBudget);
  ASSERT_EQ(result.kind, Kind::kViolation);
  EXPECT_NE(result.explanation.find("release(db, s1) -> ok"), std::string::npos) << result;
}

TEST(LinearizabilityTest, UnknownCampaignTakesEffectOnlyAfterItsCall) {
  std::vector<Op<ElectionModel>> history = {
      LostElectionOp(1, Campaign(1), 10),
      ElectionOp(2, ElectionInput::Get("lead"), ElectionOutput::Leader("s1", 6), 20, 30),
      ElectionOp(3, Campaign(3), ElectionOutput::NotElected(), 25, 35),
      ElectionOp(2, ElectionInput::Expire("", "s1"), ElectionOutput::Ok(), 40, 40),
      ElectionOp(3, Campaign(3), ElectionOutput::Elected(9), 45, 50),
  };
  EXPECT_TRUE(Check(ElectionModel{}, history, kBudget).ok());
  history[0].call = At(31);  // now called after the read that saw its effect
  EXPECT_EQ(Check(ElectionModel{}, history, kBudget).kind, Kind::kViolation);
}

TEST(LinearizabilityTest, TwoLeadersInTheSameTermAreAViolation) {
  std::vector<Op<ElectionModel>> history = {
      ElectionOp(1, Campaign(1), ElectionOutput::Elected(3), 0, 10),
      ElectionOp(2, Campaign(2), ElectionOutput::Elected(3), 5, 15),
      ElectionOp(1, ElectionInput::Resign("lead", "s1"), ElectionOutput::Ok(), 6, 12),
  };
  EXPECT_EQ(Check(ElectionModel{}, history, kBudget).kind, Kind::kViolation);
  history[1].output = ElectionOutput::Elected(4);  // a handoff to a fresh term is fine
  EXPECT_TRUE(Check(ElectionModel{}, history, kBudget).ok());
}

TEST(LinearizabilityTest, ZeroBudgetTimesOut) {
  std::vector<Op<LockModel>> history = {LockOp(1, Acquire(1), LockOutput::Granted(1), 0, 10)};
  EXPECT_EQ(Check(LockModel{}, history, milliseconds(0)).kind, Kind::kTimeout);
}

TEST(LinearizabilityTest, PartitionedCheckIsPerLockAndNamesTheFailingOne) {
  std::vector<Op<LockModel>> history = {
      LockOp(1, LockInput::Acquire("a", "s1", kX), LockOutput::Granted(1), 0, 10),
      LockOp(2, LockInput::Acquire("b", "s2", kX), LockOutput::Granted(2), 0, 10),
      LockOp(3, LockInput::Expire("", "s1"), LockOutput::Ok(), 20, 20),
      LockOp(3, LockInput::Acquire("a", "s3", kX), LockOutput::Granted(3), 30, 40),
  };
  EXPECT_FALSE(Check(LockModel{}, history, kBudget).ok());  // one lock: a and b conflict
  EXPECT_TRUE(CheckPartitioned(LockModel{}, history, LockKey, kBudget).ok());
  // With a plain key the expiry no longer reaches lock a, so s3's grant overlaps s1's hold.
  auto name_only = [](const LockInput& in) { return in.lock; };
  EXPECT_FALSE(CheckPartitioned(LockModel{}, history, name_only, kBudget).ok());
  history.push_back(LockOp(4, LockInput::Acquire("b", "s4", kS), LockOutput::Granted(4), 30, 40));
  CheckResult result = CheckPartitioned(LockModel{}, history, LockKey, kBudget);
  ASSERT_EQ(result.kind, Kind::kViolation);
  EXPECT_EQ(result.explanation.rfind("key b: ", 0), 0u) << result;
}

// Clients of a correct try-lock (no waiting) with random network delays, in simulated time.
// About 2% of calls crash the client: the answer is lost (the op stays unknown, applied or
// not), the server later expires the old session, and the client starts a new one. With
// `inject_double_grant`, the lock once grants an acquire that conflicts with a holder whose
// grant already returned, and that holder stays quiet until the bad grant has returned too.
class LockSimulation {
 public:
  LockSimulation(std::uint64_t seed, bool inject_double_grant)
      : rng_(seed), inject_(inject_double_grant) {}

  std::vector<Op<LockModel>> Run(int clients, int ops_per_client) {
    clients_.assign(clients, Client{});
    for (int c = 0; c < clients; ++c) {
      clients_[c].session = "c" + std::to_string(c) + ".0";
      Schedule(Delay(), c, Phase::kCall);
    }
    while (!events_.empty()) {
      Event ev = events_.top();
      events_.pop();
      Client& cl = clients_[ev.client];
      if (ev.phase == Phase::kExpire) {
        std::erase_if(holders_, [&](const auto& h) { return h.first == ev.session; });
        history_.push_back(LockOp(1000 + ev.client, LockInput::Expire("db", ev.session),
                                  LockOutput::Ok(), ev.time, ev.time));
      } else if (ev.phase == Phase::kCall && cl.done < ops_per_client) {
        if (ev.time < cl.not_before) {
          Schedule(cl.not_before, ev.client, Phase::kCall);
          continue;
        }
        cl.idle = false;
        cl.keep_answer = false;
        cl.op = LostLockOp(ev.client, NextInput(cl), ev.time);
        if (Chance(0.01)) {
          Crash(ev.client, ev.time);
        } else {
          Schedule(ev.time + Delay(), ev.client, Phase::kApply);
        }
      } else if (ev.phase == Phase::kApply) {
        const std::int64_t ret = ev.time + Delay();
        cl.op.output = Apply(ev.client, ret);
        Schedule(ret, ev.client, Phase::kReturn);
      } else if (ev.phase == Phase::kReturn) {
        if (!cl.keep_answer && Chance(0.01)) {
          Crash(ev.client, ev.time);
          continue;
        }
        cl.op.ret = At(ev.time);
        history_.push_back(cl.op);
        if (cl.op.output.kind == LockOutput::Kind::kGranted) {
          cl.holds = true;
        } else if (cl.op.input.kind == LockInput::Kind::kRelease) {
          cl.holds = false;
        }
        ++cl.done;
        cl.idle = true;
        Schedule(ev.time + Delay(), ev.client, Phase::kCall);
      }
    }
    return history_;
  }

  bool injected() const { return injected_; }

 private:
  enum class Phase { kCall, kApply, kReturn, kExpire };
  struct Event {
    std::int64_t time;
    std::uint64_t seq;
    int client;
    Phase phase;
    std::string session;
    bool operator>(const Event& o) const { return std::tie(time, seq) > std::tie(o.time, o.seq); }
  };
  struct Client {
    std::string session;
    int generation = 0;
    int done = 0;
    bool idle = true;
    bool holds = false;
    bool keep_answer = false;
    std::int64_t not_before = 0;
    Op<LockModel> op;
  };
  struct Hold {
    int client;
    LockMode mode;
  };

  std::int64_t Delay() { return std::uniform_int_distribution<std::int64_t>(1, 200)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  void Schedule(std::int64_t time, int client, Phase phase, std::string session = "") {
    events_.push(Event{time, seq_++, client, phase, std::move(session)});
  }

  LockInput NextInput(const Client& cl) {
    if (cl.holds || Chance(0.15)) {
      return LockInput::Release("db", cl.session);
    }
    return LockInput::Acquire("db", cl.session, Chance(0.5) ? kX : kS);
  }

  void Crash(int client, std::int64_t now) {
    Client& cl = clients_[client];
    history_.push_back(cl.op);
    Schedule(now + Delay(), client, Phase::kExpire, cl.session);
    cl.session = "c" + std::to_string(client) + "." + std::to_string(++cl.generation);
    cl.holds = false;
    ++cl.done;
    cl.idle = true;
    Schedule(now + Delay(), client, Phase::kCall);
  }

  LockOutput Apply(int client, std::int64_t ret) {
    Client& cl = clients_[client];
    const LockInput& in = cl.op.input;
    auto held = holders_.find(in.session);
    if (in.kind == LockInput::Kind::kRelease) {
      if (held == holders_.end()) {
        return LockOutput::NotHolder();
      }
      holders_.erase(held);
      return LockOutput::Ok();
    }
    std::vector<int> conflicting;
    bool quiet = true;  // every conflicting holder's grant returned, and it is not calling
    for (const auto& [session, hold] : holders_) {
      if (in.mode == kX || hold.mode == kX) {
        conflicting.push_back(hold.client);
        quiet = quiet && clients_[hold.client].idle && clients_[hold.client].session == session;
      }
    }
    if (!conflicting.empty()) {
      if (!inject_ || injected_ || !quiet) {
        return LockOutput::Refused();
      }
      injected_ = true;
      cl.keep_answer = true;
      for (int c : conflicting) {
        clients_[c].not_before = ret + 1;
      }
    }
    holders_[in.session] = Hold{client, in.mode};
    next_token_ += std::uniform_int_distribution<std::uint64_t>(1, 3)(rng_);
    return LockOutput::Granted(next_token_);
  }

  std::mt19937_64 rng_;
  bool inject_;
  bool injected_ = false;
  std::uint64_t seq_ = 0;
  std::uint64_t next_token_ = 0;
  std::vector<Client> clients_;
  std::map<std::string, Hold> holders_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::vector<Op<LockModel>> history_;
};

TEST(LinearizabilityTest, RandomCorrectLockHistoriesAreLinearizable) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    std::vector<Op<LockModel>> history = LockSimulation(seed, false).Run(10, 30);
    CheckResult result = Check(LockModel{}, std::move(history), kBudget);
    ASSERT_TRUE(result.ok()) << "seed " << seed << ": " << result;
  }
}

TEST(LinearizabilityTest, RandomHistoriesWithADoubleGrantAreViolations) {
  int injected = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    LockSimulation simulation(seed, true);
    std::vector<Op<LockModel>> history = simulation.Run(10, 30);
    if (!simulation.injected()) {
      continue;
    }
    ++injected;
    CheckResult result = Check(LockModel{}, std::move(history), kBudget);
    EXPECT_EQ(result.kind, Kind::kViolation) << "seed " << seed << ": " << result;
  }
  EXPECT_GE(injected, 190);
}

TEST(LockModelTest, ReleaseAnswersDependOnHolding) {
  LockModel model;
  auto held = model.Step(model.Init(), Acquire(1, kS), LockOutput::Granted(2));
  ASSERT_TRUE(held.has_value());
  EXPECT_FALSE(model.Step(*held, Release(1), LockOutput::NotHolder()).has_value());
  EXPECT_FALSE(model.Step(*held, Release(2), LockOutput::Ok()).has_value());
  EXPECT_EQ(model.Step(*held, Release(1), LockOutput::Ok()), (LockModel::State{{}, 3}));
  EXPECT_EQ(model.Step(*held, Acquire(1, kS), LockOutput::Granted(2)), held);  // idempotent
  EXPECT_FALSE(model.Step(*held, Acquire(1, kX), LockOutput::Granted(3)).has_value());
}

TEST(LockModelTest, EndedSessionIsGrantedNothingAndItsLostOpsAreDead) {
  LockModel model;
  auto ended = model.Step(model.Init(), LockInput::Expire("", "s1"), LockOutput::Ok());
  ASSERT_TRUE(ended.has_value());
  EXPECT_FALSE(model.Step(*ended, Acquire(1), LockOutput::Granted(1)).has_value());
  EXPECT_TRUE(model.StepUnknown(*ended, Acquire(1)).empty());
  EXPECT_TRUE(model.IsDead(*ended, Acquire(1)));
  EXPECT_FALSE(model.IsDead(*ended, Acquire(2)));
}

TEST(ElectionModelTest, GetLearnsTheTermOfALostCampaign) {
  ElectionModel model;
  std::vector<ElectionModel::State> after = model.StepUnknown(model.Init(), Campaign(1));
  ASSERT_EQ(after.size(), 1u);
  auto read = model.Step(after[0], ElectionInput::Get("lead"), ElectionOutput::Leader("s1", 5));
  ASSERT_TRUE(read.has_value());
  EXPECT_FALSE(
      model.Step(*read, ElectionInput::Get("lead"), ElectionOutput::Leader("s1", 6)).has_value());
  EXPECT_FALSE(model.Step(*read, Campaign(2), ElectionOutput::Elected(9)).has_value());
  EXPECT_EQ(model.Step(*read, Campaign(1), ElectionOutput::Elected(5)), read);
}

TEST(HistoryRecorderTest, RecordsClockTimesAndKeepsUnfinishedOpsUnknown) {
  ManualClock clock;
  HistoryRecorder<LockModel> recorder(clock);
  const core::TimePoint start = clock.Now();
  auto first = recorder.Begin(1, Acquire(1));
  clock.Advance(milliseconds(5));
  recorder.Begin(2, Acquire(2));  // never answered
  clock.Advance(milliseconds(5));
  recorder.End(first, LockOutput::Granted(1));
  std::vector<Op<LockModel>> history = recorder.Take();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].call, start);
  EXPECT_EQ(history[0].ret, start + milliseconds(10));
  EXPECT_EQ(history[1].client, 2);
  EXPECT_FALSE(history[1].ret.has_value());
  EXPECT_TRUE(recorder.Take().empty());
}

TEST(HistoryRecorderTest, RecordsEveryOpOfConcurrentClients) {
  ManualClock clock;
  HistoryRecorder<LockModel> recorder(clock);
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&recorder, c] {
      for (int i = 0; i < 100; ++i) {
        recorder.End(recorder.Begin(c, Acquire(c)), LockOutput::Refused());
      }
    });
  }
  for (std::thread& t : clients) {
    t.join();
  }
  std::vector<Op<LockModel>> history = recorder.Take();
  EXPECT_EQ(history.size(), 400u);
  EXPECT_TRUE(Check(LockModel{}, history, kBudget).ok());
}

}  // namespace
}  // namespace agentmesh::testing
