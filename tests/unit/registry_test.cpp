#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "attend/attend.hpp"
#include "probe_backend.hpp"
#include "support/host_problem.hpp"

namespace attend {
namespace {

using testing::ScopedProbe;

TEST(Registry, BuiltinsAreListedBestFirst) {
  const auto all = list_backends();
  ASSERT_GE(all.size(), 2u);
  auto find = [&](std::string_view id) {
    return std::find_if(all.begin(), all.end(), [&](const BackendInfo& b) { return b.id == id; });
  };
  ASSERT_NE(find("math"), all.end());
  ASSERT_NE(find("cpu_flash"), all.end());
  EXPECT_EQ(find("math")->availability.score, 1);
  EXPECT_EQ(find("math")->origin, "built-in");
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_GE(all[i - 1].availability.score, all[i].availability.score);
  }
}

TEST(Registry, ResolvesIdsAndDiffusersAliases) {
  EXPECT_EQ(resolve_backend_id("math"), "math");
  EXPECT_EQ(resolve_backend_id("_native_math"), "math");
  EXPECT_EQ(resolve_backend_id("auto"), "auto");
  EXPECT_EQ(resolve_backend_id("native"), "auto");
  try {
    resolve_backend_id("flash_attn_9");
    FAIL() << "expected unknown_backend";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::unknown_backend);
    EXPECT_NE(std::string(e.what()).find("math"), std::string::npos) << "lists known ids";
  }
}

TEST(Registry, DuplicateIdIsRefusedUnlessReplacing) {
  ScopedProbe probe("probe_dup", 5);
  auto again = std::make_shared<testing::ProbeBackend>("probe_dup", 7,
                                                       testing::ProbeBackend::cpu_fp32_caps());
  try {
    register_backend(again);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::plugin);
  }
  register_backend(again, /*replace=*/true);
  const auto all = list_backends();
  const auto it = std::find_if(all.begin(), all.end(),
                               [](const BackendInfo& b) { return b.id == "probe_dup"; });
  ASSERT_NE(it, all.end());
  EXPECT_EQ(it->availability.score, 7);
}

TEST(Registry, ReservedIdsAreRefused) {
  auto bad =
      std::make_shared<testing::ProbeBackend>("auto", 5, testing::ProbeBackend::cpu_fp32_caps());
  EXPECT_THROW(register_backend(bad), Error);
  EXPECT_THROW(register_backend(nullptr), Error);
}

TEST(Registry, UnregisterRemoves) {
  {
    ScopedProbe probe("probe_gone", 5);
    EXPECT_TRUE(has_backend("probe_gone"));
  }
  EXPECT_FALSE(has_backend("probe_gone"));
  EXPECT_FALSE(unregister_backend("probe_gone"));
}

}  // namespace
}  // namespace attend

namespace attend {
namespace {

TEST(Registry, RefusesBackendsThatDescribeThemselvesBadly) {
  auto refuse = [](std::string id, Capabilities caps, const char* phrase) {
    auto b = std::make_shared<testing::ProbeBackend>(std::move(id), 5, std::move(caps));
    try {
      register_backend(b);
      ADD_FAILURE() << "accepted: " << phrase;
      unregister_backend(b->id());
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::plugin);
      EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
    }
  };
  const Capabilities ok = testing::ProbeBackend::cpu_fp32_caps();
  refuse("native", ok, "is reserved");
  refuse("Has-Caps", ok, "must be 1-64 characters");
  Capabilities c = ok;
  c.head_dim_multiple = 0;
  refuse("probe_zero_multiple", c, "head_dim_multiple 0 < 1");
  c = ok;
  c.dtypes = {DType::i32};
  refuse("probe_int", c, "not floating point");
  c = ok;
  c.layouts.clear();
  refuse("probe_no_layout", c, "no layouts");
  // Names are one namespace: a new id may not equal another backend's alias, nor the reverse.
  refuse("_native_math", ok, "already belongs to 'math'");
  ScopedProbe first("probe_first", 5);
  refuse("_probe_probe_first", ok, "already belongs to 'probe_first'");
}

// Threads dispatching while another registers and removes backends: every call runs on a
// backend that was registered at that moment, and nothing tears (run under TSan in CI).
TEST(Registry, RegistrationWhileDispatchingIsSafe) {
  support::ProblemSpec s;
  s.D = 8;
  support::HostProblem problem(s);
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, errors{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&] {
      support::Output o = problem.make_output();
      const Params p = problem.params(o);
      while (!stop.load()) {
        try {
          attention(p);  // auto: a churning probe or, between, cpu_flash
          calls.fetch_add(1);
        } catch (const Error&) {
          errors.fetch_add(1);
        }
      }
    });
  }
  // Churn until the callers have made enough calls to overlap it (bounded in case they stall).
  for (int round = 0; round < 200 || (calls.load() < 300 && round < 200000); ++round) {
    ScopedProbe churn("probe_churn", 95);
    EXPECT_TRUE(has_backend("probe_churn"));
  }
  stop.store(true);
  for (auto& th : callers) th.join();
  EXPECT_GT(calls.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_FALSE(has_backend("probe_churn"));
}

}  // namespace
}  // namespace attend
