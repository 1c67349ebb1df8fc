// Run-time backends: the example plugin runs and matches `math`; every malformed plugin is
// refused with its reason while the process and the other backends carry on.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "attend/attend.hpp"
#include "support/host_problem.hpp"

namespace attend {
namespace {

struct Refusal {
  const char* name;
  const char* path;
  const char* reason;  // a phrase the message must contain
};

void PrintTo(const Refusal& r, std::ostream* os) {
  *os << r.name;
}

class PluginRefused : public ::testing::TestWithParam<Refusal> {};

TEST_P(PluginRefused, WithItsReason) {
  const Refusal& r = GetParam();
  const std::size_t before = list_backends().size();
  try {
    load_plugin(r.path);
    FAIL() << r.name << " was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::plugin);
    EXPECT_NE(std::string(e.what()).find(r.reason), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(r.path), std::string::npos) << "names the file";
  }
  EXPECT_EQ(list_backends().size(), before);
  if (std::string(r.path).find("/nonexistent") == std::string::npos &&
      r.path != std::string(PLUGIN_garbage)) {
    EXPECT_EQ(dlopen(r.path, RTLD_NOW | RTLD_NOLOAD), nullptr) << "a refused library is closed";
  }
  support::ProblemSpec s;
  s.D = 8;
  support::HostProblem p(s);
  support::Output o = p.make_output();
  EXPECT_NO_THROW(attention(p.params(o), "math")) << "other backends still work";
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, PluginRefused,
    ::testing::Values(
        Refusal{"wrong_abi", PLUGIN_bad_abi, "speaks plugin ABI version 99"},
        Refusal{"missing_abi", PLUGIN_no_abi, "has no ABI version"},
        Refusal{"missing_entry", PLUGIN_no_entry, "exports no 'attend_plugin_entry'"},
        Refusal{"null_description", PLUGIN_null_description, "returned no description"},
        Refusal{"contradictory_caps", PLUGIN_bad_caps, "head_dim_max 32 < head_dim_min 64"},
        Refusal{"duplicate_builtin_id", PLUGIN_duplicate_id, "'math' is already registered"},
        Refusal{"bad_id", PLUGIN_bad_id, "must be 1-64 characters"},
        Refusal{"small_struct", PLUGIN_small_struct, "description is 8 bytes"},
        Refusal{"not_a_library", PLUGIN_garbage, "cannot be loaded"},
        Refusal{"missing_file", "/nonexistent/plugin.so", "cannot be loaded"},
        Refusal{"reserved_id", PLUGIN_reserved_id, "id 'auto' is reserved"},
        Refusal{"missing_run", PLUGIN_no_run, "run function is missing"},
        Refusal{"unknown_device", PLUGIN_bad_device, "device_kind 7 is neither CPU nor CUDA"},
        Refusal{"odd_alignment", PLUGIN_bad_alignment,
                "alignment_bytes 48 is not 0 or a power of two"},
        Refusal{"integer_dtype", PLUGIN_int_dtype, "dtype int32 is not floating point"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Plugin, ContradictoryCapsListsEveryContradiction) {
  try {
    load_plugin(PLUGIN_bad_caps);
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("no dtypes are declared"), std::string::npos) << m;
    EXPECT_NE(m.find("unknown capability flags"), std::string::npos) << m;
  }
}

TEST(Plugin, ExampleBackendMatchesMath) {
  const std::string id = load_plugin(ATTEND_EXAMPLE_PLUGIN);
  EXPECT_EQ(id, "cpu_rows");
  const auto all = list_backends();
  const auto it =
      std::find_if(all.begin(), all.end(), [](const BackendInfo& b) { return b.id == "cpu_rows"; });
  ASSERT_NE(it, all.end());
  EXPECT_EQ(it->origin, ATTEND_EXAMPLE_PLUGIN);
  EXPECT_EQ(it->availability.score, 5);

  std::vector<support::ProblemSpec> specs(5);
  specs[0].B = 2, specs[0].Hq = 4, specs[0].Hkv = 2, specs[0].Sq = 33, specs[0].Sk = 47,
  specs[0].D = 24;
  specs[1] = specs[0], specs[1].causal = true, specs[1].align = Align::bottom_right,
  specs[1].lse = true;
  specs[2] = specs[0], specs[2].layout = Layout::BHSD, specs[2].strided = true,
  specs[2].softcap = 4.0;
  specs[3].Hq = 2, specs[3].Hkv = 2, specs[3].D = 16, specs[3].seqlens_q = {5, 0, 9},
  specs[3].seqlens_k = {7, 3, 0};
  specs[3].lse = true;
  specs[4] = specs[0], specs[4].window = {6, 2};
  for (const support::ProblemSpec& s : specs) {
    support::HostProblem p(s);
    support::Output got = p.make_output(), ref = p.make_output();
    attention(p.params(got), "cpu_rows");
    attention(p.params(ref), "math");
    const support::Comparison c = support::compare(p, got, ref);
    EXPECT_EQ(c.nan, 0) << s.describe();
    EXPECT_LE(c.rel_l2, 1e-5) << s.describe();
    EXPECT_EQ(c.lse_mismatch, 0) << s.describe();
    EXPECT_LE(c.lse_max_abs, 1e-4) << s.describe();
  }
  // What it does not declare, it is never given: a bf16 problem is refused with the reason.
  support::ProblemSpec bf = specs[0];
  bf.dtype = DType::bf16;
  support::HostProblem p(bf);
  support::Output o = p.make_output();
  EXPECT_THROW(attention(p.params(o), "cpu_rows"), NoBackendError);
  EXPECT_TRUE(unregister_backend("cpu_rows"));
}

TEST(Plugin, DuplicateLoadIsRefusedUnlessReplacing) {
  EXPECT_EQ(load_plugin(PLUGIN_good_plugin), "test_plugin");
  EXPECT_EQ(resolve_backend_id("_test_alias"), "test_plugin");
  try {
    load_plugin(PLUGIN_good_plugin);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already registered"), std::string::npos) << e.what();
  }
  EXPECT_EQ(load_plugin(PLUGIN_good_plugin, /*replace=*/true), "test_plugin");
  EXPECT_TRUE(unregister_backend("test_plugin"));
}

TEST(Plugin, RunFailureBecomesAnErrorWithThePluginsMessage) {
  ASSERT_EQ(load_plugin(PLUGIN_run_fails), "failing_plugin");
  support::ProblemSpec s;
  s.D = 8;
  support::HostProblem p(s);
  support::Output o = p.make_output();
  try {
    attention(p.params(o), "failing_plugin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::runtime);
    EXPECT_NE(std::string(e.what()).find("device exploded (on purpose)"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("code 7"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(unregister_backend("failing_plugin"));
}

}  // namespace
}  // namespace attend
