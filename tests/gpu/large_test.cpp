// Realistic sizes: every GPU backend against cuda_math on the same device inputs (both outputs
// downloaded and compared), and cuda_math itself against the CPU reference once at that size.
#include <iostream>
#include <string>
#include <vector>

#include "gpu_fixture.hpp"

namespace attend {
namespace {

using support::ProblemSpec;

ProblemSpec large(DType t, std::int64_t hq, std::int64_t hkv, std::int64_t d, bool causal) {
  ProblemSpec s;
  s.dtype = t;
  s.B = 1, s.Hq = hq, s.Hkv = hkv, s.Sq = 2048, s.Sk = 2048, s.D = d;
  s.causal = causal;
  s.lse = true;
  return s;
}

std::vector<ProblemSpec> large_specs() {
  return {large(DType::bf16, 4, 4, 128, false), large(DType::bf16, 4, 4, 128, true),
          large(DType::bf16, 8, 2, 128, true), large(DType::f16, 4, 4, 64, false)};
}

class LargeShapes : public gpu_testing::BackendTest {};

TEST_P(LargeShapes, MatchesCudaMath) {
  const std::string& backend = GetParam();
  int ran = 0;
  for (const ProblemSpec& spec : large_specs()) {
    SCOPED_TRACE(spec.describe());
    support::HostProblem host(spec);
    support::DeviceProblem dev(host);
    if (auto why = gpu_testing::refusal(dev.params(), backend)) {
      std::cout << backend << " refuses " << spec.describe() << ": " << *why << "\n";
      continue;
    }
    attention(dev.params(), "cuda_math");
    const support::Output ref = dev.download();
    dev.poison_outputs();
    attention(dev.params(), backend);
    const support::Output got = dev.download();
    const support::Comparison cmp = support::compare(host, got, ref);
    EXPECT_TRUE(gpu_testing::accurate(backend, cmp, spec)) << gpu_testing::describe(cmp);
    ++ran;
  }
  if (ran == 0) GTEST_SKIP() << backend << " refuses every large case";
}

std::vector<std::string> other_gpu_backends() {
  std::vector<std::string> out;
  for (const std::string& b : gpu_testing::gpu_backends()) {
    if (b != "cuda_math") out.push_back(b);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Backends, LargeShapes, ::testing::ValuesIn(other_gpu_backends()),
                         [](const auto& info) { return info.param; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(LargeShapes);

// The oracle of the test above, held to the CPU reference at the same size (causal halves the
// CPU's work).
TEST(LargeCudaMath, MatchesTheCpuReference) {
  ATTEND_REQUIRE_GPU();
  const ProblemSpec spec = large(DType::bf16, 4, 4, 128, true);
  support::HostProblem host(spec);
  support::DeviceProblem dev(host);
  attention(dev.params(), "cuda_math");
  const support::Comparison cmp =
      support::compare(host, dev.download(), gpu_testing::reference(host));
  EXPECT_TRUE(support::passes(cmp, spec.dtype)) << gpu_testing::describe(cmp);
}

}  // namespace
}  // namespace attend
