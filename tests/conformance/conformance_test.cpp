// Every available backend against the `math` reference on random problems: dtypes, head dims,
// Sq != Sk, both causal alignments, GQA, every mask broadcast shape, key padding with fully
// masked rows, windows, softcap, varlen with zero-length sequences, LSE, dropout, layouts and
// strides, empty problems. Outputs are poisoned first, so an unwritten element fails.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "attend/attend.hpp"
#include "conformance/case_grid.hpp"
#include "support/host_problem.hpp"

namespace attend {
namespace {

using support::ProblemSpec;

struct Case {
  std::string backend;
  ProblemSpec spec;
};

std::vector<ProblemSpec> grid() {
  std::vector<ProblemSpec> out;
  for (DType t : {DType::f32, DType::bf16, DType::f16}) {
    ProblemSpec s;
    s.dtype = t;
    s.B = 2, s.Hq = 3, s.Hkv = 3, s.Sq = 37, s.Sk = 53, s.D = 64;
    s.lse = true;
    const std::int64_t B = s.B, H = s.Hq, Sq = s.Sq, Sk = s.Sk;
    conformance::GridSizes sizes;
    sizes.causal = {{37, 53}, {53, 37}, {40, 40}, {1, 29}};
    sizes.mask_shapes = {{Sq, Sk},      {B, Sq, Sk},   {B, H, Sq, Sk}, {1, 1, Sq, Sk},
                         {B, 1, 1, Sk}, {1, H, 1, Sk}, {1, Sk}};
    sizes.varlen = {{{17, 0, 33, 1}, {25, 5, 0, 40}}, {{64, 3}, {64, 70}}};
    sizes.empty = {{2, 0, 9}, {2, 9, 0}, {0, 9, 9}, {1, 1, 1}};
    conformance::append_variants(s, sizes, out);
  }
  conformance::number_seeds(out, 101);
  return out;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const BackendInfo& b : list_backends()) {
    if (b.id == "math" || b.capabilities.device != DeviceKind::cpu) continue;
    for (const ProblemSpec& s : grid()) out.push_back({b.id, s});
  }
  return out;
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.backend << " on " << c.spec.describe();
}

class Conformance : public ::testing::TestWithParam<Case> {};

TEST_P(Conformance, MatchesReference) {
  const Case& c = GetParam();
  support::HostProblem problem(c.spec);
  support::Output got = problem.make_output(), ref = problem.make_output();
  const Params params = problem.params(got);
  const Explanation ex = explain(params, c.backend);
  for (const Verdict& v : ex.verdicts) {
    if (v.backend != c.backend || v.ok) continue;
    std::string why;
    for (const Reason& r : v.reasons)
      why += std::string(code_name(r.code)) + " (" + r.what + ": " + r.got + ") ";
    GTEST_SKIP() << c.backend << " refuses " << c.spec.describe() << ": " << why;
  }
  attention(params, c.backend);
  attention(problem.params(ref), "math");
  const support::Comparison cmp = support::compare(problem, got, ref);
  const double tol = support::tolerance(c.spec.dtype);
  EXPECT_EQ(cmp.nan, 0) << "NaN or unwritten elements";
  EXPECT_LE(cmp.rel_l2, tol) << "max abs " << cmp.max_abs;
  EXPECT_EQ(cmp.lse_mismatch, 0) << "-inf/finite LSE disagreements";
  EXPECT_LE(cmp.lse_max_abs, support::lse_tolerance(c.spec.dtype));
}

// Every case of the grid is within cpu_flash's declared capabilities: a refusal here is a lost
// feature, not a skip.
TEST(ConformanceCoverage, CpuFlashRunsTheWholeGrid) {
  for (const ProblemSpec& s : grid()) {
    support::ProblemSpec shape_only = s;
    shape_only.random_inputs = false;
    support::HostProblem problem(shape_only);
    support::Output o = problem.make_output();
    const Explanation ex = explain(problem.params(o), "cpu_flash");
    EXPECT_EQ(ex.chosen, "cpu_flash") << s.describe();
  }
}

INSTANTIATE_TEST_SUITE_P(Grid, Conformance, ::testing::ValuesIn(cases()), [](const auto& info) {
  std::string n =
      info.param.backend + "_" + std::to_string(info.index) + "_" + info.param.spec.describe();
  for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return n;
});

}  // namespace
}  // namespace attend
