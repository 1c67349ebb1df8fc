// Every available backend against the `math` reference on random problems: dtypes, head dims,
// Sq != Sk, both causal alignments, GQA, every mask broadcast shape, key padding with fully
// masked rows, windows, softcap, varlen with zero-length sequences, LSE, dropout, layouts and
// strides, empty problems. Outputs are poisoned first, so an unwritten element fails.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "attend/attend.hpp"
#include "support/host_problem.hpp"

namespace attend {
namespace {

using support::MaskKind;
using support::ProblemSpec;

struct Case {
  std::string backend;
  ProblemSpec spec;
};

ProblemSpec base(DType t, std::int64_t d) {
  ProblemSpec s;
  s.dtype = t;
  s.B = 2, s.Hq = 3, s.Hkv = 3, s.Sq = 37, s.Sk = 53, s.D = d;
  s.lse = true;
  return s;
}

std::vector<ProblemSpec> grid() {
  std::vector<ProblemSpec> out;
  std::uint64_t seed = 100;
  auto add = [&](ProblemSpec s) {
    s.seed = ++seed;
    out.push_back(std::move(s));
  };
  for (DType t : {DType::f32, DType::bf16, DType::f16}) {
    for (std::int64_t d : {32, 64, 80, 96, 128, 256}) add(base(t, d));
    ProblemSpec s = base(t, 64);
    for (Align a : {Align::top_left, Align::bottom_right}) {
      for (auto [sq, sk] : {std::pair{37, 53}, {53, 37}, {40, 40}, {1, 29}}) {
        ProblemSpec c = s;
        c.causal = true, c.align = a, c.Sq = sq, c.Sk = sk;
        add(c);
      }
    }
    for (auto [hq, hkv] : {std::pair{4, 2}, {8, 1}}) {
      ProblemSpec c = s;
      c.Hq = hq, c.Hkv = hkv;
      add(c);
      c.causal = true;
      c.align = Align::bottom_right;
      add(c);
    }
    const std::int64_t B = s.B, H = s.Hq, Sq = s.Sq, Sk = s.Sk;
    const std::vector<std::vector<std::int64_t>> shapes = {
        {Sq, Sk},      {B, Sq, Sk},   {B, H, Sq, Sk}, {1, 1, Sq, Sk},
        {B, 1, 1, Sk}, {1, H, 1, Sk}, {1, Sk}};
    for (const auto& shape : shapes) {
      for (MaskKind k : {MaskKind::boolean, MaskKind::additive}) {
        ProblemSpec c = s;
        c.mask = k;
        c.mask_shape = shape;
        add(c);
      }
    }
    {
      ProblemSpec c = s;
      c.mask = MaskKind::boolean;
      c.mask_keep = 0.05;  // many rows end up fully masked
      c.causal = true;
      add(c);
    }
    {
      ProblemSpec c = s;
      c.key_padding = true;  // batch 1 fully padded
      add(c);
      c.mask = MaskKind::additive;
      add(c);
    }
    for (Window w : {Window{8, 0}, Window{4, 4}, Window{0, 6}, Window{-1, 3}}) {
      ProblemSpec c = s;
      c.window = w;
      add(c);
    }
    {
      ProblemSpec c = s;
      c.window = {5, -1};
      c.causal = true;
      c.align = Align::bottom_right;
      add(c);
    }
    {
      ProblemSpec c = s;
      c.softcap = 5.0;
      add(c);
      c.scale = 0.3;
      c.causal = true;
      add(c);
    }
    for (auto lens : {std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>>{
                          {17, 0, 33, 1}, {25, 5, 0, 40}},
                      {{64, 3}, {64, 70}}}) {
      ProblemSpec c = s;
      c.seqlens_q = lens.first;
      c.seqlens_k = lens.second;
      add(c);
      c.causal = true;
      c.align = Align::bottom_right;
      c.Hq = 4, c.Hkv = 2;
      add(c);
    }
    {
      ProblemSpec c = s;
      c.dropout_p = 0.15;
      add(c);
    }
    {
      ProblemSpec c = s;
      c.Dv = 32;
      add(c);
      c.D = 17, c.Dv = 0;
      add(c);
    }
    {
      ProblemSpec c = s;
      c.layout = Layout::BHSD;
      add(c);
      c.strided = true;
      add(c);
      c.layout = Layout::BSHD;
      c.causal = true;
      add(c);
    }
    for (auto [b, sq, sk] : {std::tuple{2, 0, 9}, {2, 9, 0}, {0, 9, 9}, {1, 1, 1}}) {
      ProblemSpec c = s;
      c.B = b, c.Sq = sq, c.Sk = sk;
      add(c);
    }
  }
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
