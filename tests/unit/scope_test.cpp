#include <gtest/gtest.h>

#include <barrier>
#include <thread>
#include <vector>

#include "attend/attend.hpp"
#include "probe_backend.hpp"
#include "problem_fixture.hpp"

namespace attend {
namespace {

using testing::ScopedProbe;

class ScopeTest : public ::testing::Test {
 protected:
  ScopedProbe a_{"probe_a", 90};
  ScopedProbe b_{"probe_b", 80};
  support::HostProblem problem_{testing::small_spec()};
  support::Output out_ = problem_.make_output();
  Params params_ = problem_.params(out_);
};

TEST_F(ScopeTest, AutoTakesTheBestRankedBackendThatPasses) {
  attention(params_);
  EXPECT_EQ(a_.calls(), 1);
  EXPECT_EQ(b_.calls(), 0);
}

TEST_F(ScopeTest, ScopeOverridesDefaultAndRestoresExactly) {
  EXPECT_EQ(current_scope_backend(), nullptr);
  {
    BackendScope outer("probe_b");
    attention(params_);
    EXPECT_EQ(b_.calls(), 1);
    {
      BackendScope inner("_probe_probe_a");  // an alias resolves to the id
      ASSERT_NE(current_scope_backend(), nullptr);
      EXPECT_EQ(*current_scope_backend(), "probe_a");
      attention(params_);
      EXPECT_EQ(a_.calls(), 1);
    }
    EXPECT_EQ(*current_scope_backend(), "probe_b");
    attention(params_);
    EXPECT_EQ(b_.calls(), 2);
  }
  EXPECT_EQ(current_scope_backend(), nullptr);
}

TEST_F(ScopeTest, ExplicitArgumentBeatsScope) {
  BackendScope scope("probe_b");
  attention(params_, "probe_a");
  EXPECT_EQ(a_.calls(), 1);
  EXPECT_EQ(b_.calls(), 0);
}

TEST_F(ScopeTest, UnknownScopeIdThrowsAndLeavesNoScope) {
  EXPECT_THROW(BackendScope("no_such_backend"), Error);
  EXPECT_EQ(current_scope_backend(), nullptr);
}

TEST_F(ScopeTest, ProcessDefaultIsUsedWithoutScope) {
  const std::string before = default_backend();
  set_default_backend("probe_b");
  attention(params_);
  EXPECT_EQ(b_.calls(), 1);
  {
    BackendScope scope("probe_a");
    attention(params_);
    EXPECT_EQ(a_.calls(), 1);
  }
  set_default_backend(before);
  EXPECT_EQ(default_backend(), before);
  EXPECT_THROW(set_default_backend("nope"), Error);
}

TEST_F(ScopeTest, ScopesAreThreadLocal) {
  constexpr int kCalls = 200;
  std::barrier sync(2);
  auto worker = [&](const char* id) {
    BackendScope scope(id);
    sync.arrive_and_wait();  // both scopes are open at once
    for (int i = 0; i < kCalls; ++i) attention(params_);
    sync.arrive_and_wait();
  };
  std::thread t1(worker, "probe_a");
  std::thread t2(worker, "probe_b");
  t1.join();
  t2.join();
  EXPECT_EQ(a_.calls(), kCalls);
  EXPECT_EQ(b_.calls(), kCalls);
  EXPECT_EQ(current_scope_backend(), nullptr) << "other threads' scopes never leak here";
}

TEST_F(ScopeTest, ManyThreadsSwitchingScopesNeverCrossOver) {
  constexpr int kThreads = 8, kRounds = 100;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const char* id = (t + r) % 2 ? "probe_a" : "probe_b";
        BackendScope scope(id);
        if (*current_scope_backend() != id) wrong.fetch_add(1);
        attention(params_);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(a_.calls() + b_.calls(), kThreads * kRounds);
  EXPECT_EQ(a_.calls(), kThreads * kRounds / 2);
}

}  // namespace
}  // namespace attend
