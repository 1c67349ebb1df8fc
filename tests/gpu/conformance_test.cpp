// Every GPU backend against the CPU `math` reference on small random problems with odd sizes:
// head dims, Sq != Sk with both causal alignments, windows, GQA, softcap, dropout, LSE, varlen,
// key padding with a fully padded batch, every kind of mask, fully masked rows, layouts and
// strides, empty problems; fp32, bf16 and fp16. Device outputs are poisoned with NaN first, so an
// element a backend forgets to write fails. One test per (backend, dtype) walks the whole grid,
// which keeps the number of processes (each paying CUDA's start-up) small.
#include <iostream>
#include <string>
#include <vector>

#include "conformance/case_grid.hpp"
#include "gpu_fixture.hpp"

namespace attend {
namespace {

using support::ProblemSpec;

std::vector<ProblemSpec> grid(DType t) {
  ProblemSpec s;
  s.dtype = t;
  s.B = 2, s.Hq = 3, s.Hkv = 3, s.Sq = 17, s.Sk = 63, s.D = 64;
  s.lse = true;
  const std::int64_t B = s.B, H = s.Hq, Sq = s.Sq, Sk = s.Sk;
  std::vector<ProblemSpec> out;
  // Sizes past one tile of queries or keys (130, 200), and single rows.
  conformance::GridSizes sizes;
  sizes.causal = {{17, 63}, {130, 63}, {1, 200}, {130, 130}};
  sizes.gqa_causal_sq = 130;
  sizes.mask_shapes = {{Sq, Sk}, {B, Sq, Sk},   {B, H, Sq, Sk},
                       {1, Sk},  {B, 1, 1, Sk}, {1, H, 1, Sk}};
  sizes.key_padding_batch = 3;  // the fully padded batch 1 between two that are not
  sizes.varlen = {{{17, 0, 33, 1}, {25, 5, 0, 40}}, {{130, 3}, {130, 200}}};
  sizes.empty = {{2, 0, 9}, {2, 9, 0}, {0, 9, 9}};
  conformance::append_variants(s, sizes, out);
  // Only here: plain size sweeps, dropout with GQA, causal key padding, aligned strided rows,
  // and the widest head dim.
  for (auto [sq, sk] : {std::pair{1, 1}, {1, 200}, {130, 200}, {130, 63}, {17, 1}}) {
    ProblemSpec c = s;
    c.Sq = sq, c.Sk = sk;
    out.push_back(c);
  }
  {
    ProblemSpec c = s;
    c.dropout_p = 0.15;
    c.Hq = 4, c.Hkv = 2, c.causal = true, c.align = Align::bottom_right;
    out.push_back(c);
  }
  {
    ProblemSpec c = s;
    c.B = 3, c.key_padding = true, c.causal = true, c.Sk = 200;
    out.push_back(c);
  }
  for (Layout l : {Layout::BSHD, Layout::BHSD}) {
    ProblemSpec c = s;
    c.layout = l, c.strided = true, c.causal = true;
    c.row_pad = 8;  // strided, rows still 16-byte aligned: within reach of vector loads
    out.push_back(c);
  }
  {
    ProblemSpec c = s;
    c.D = 512, c.Sq = 3;
    out.push_back(c);
  }
  conformance::number_seeds(out, 501);
  return out;
}

struct GpuCase {
  std::string backend;
  DType dtype;
};

void PrintTo(const GpuCase& c, std::ostream* os) {
  *os << c.backend << " " << name(c.dtype);
}

std::vector<GpuCase> cases() {
  std::vector<GpuCase> out;
  for (const std::string& b : gpu_testing::gpu_backends()) {
    for (DType t : {DType::f32, DType::bf16, DType::f16}) out.push_back({b, t});
  }
  return out;
}

class GpuConformance : public ::testing::TestWithParam<GpuCase> {
 protected:
  void SetUp() override { gpu_testing::require_available(GetParam().backend); }
};

TEST_P(GpuConformance, MatchesReference) {
  const GpuCase& c = GetParam();
  int ran = 0;
  std::string refused;
  for (const ProblemSpec& spec : grid(c.dtype)) {
    SCOPED_TRACE(spec.describe());
    support::HostProblem host(spec);
    support::DeviceProblem dev(host);
    if (auto why = gpu_testing::refusal(dev.params(), c.backend)) {
      refused += "\n  " + spec.describe() + ": " + *why;
      continue;
    }
    // A backend that draws dropout from its own random stream cannot match the reference's
    // kept set; its own test covers it.
    if (spec.dropout_p > 0 && gpu_testing::has_note(dev.params(), c.backend, "random stream")) {
      refused += "\n  " + spec.describe() + ": dropout from its own random stream";
      continue;
    }
    attention(dev.params(), c.backend);
    const support::Output got = dev.download();
    const support::Comparison cmp = support::compare(host, got, gpu_testing::reference(host));
    // DESIGN §7: fp32 1e-5 (only a reference-grade backend runs fp32), bf16/fp16 1e-2;
    // quantized backends: cosine and relative L1.
    EXPECT_TRUE(gpu_testing::accurate(c.backend, cmp, spec)) << gpu_testing::describe(cmp);
    ++ran;
  }
  if (ran == 0)
    GTEST_SKIP() << c.backend << " refuses every " << name(c.dtype) << " case:" << refused;
  RecordProperty("cases_run", ran);
  if (!refused.empty()) std::cout << c.backend << " refused:" << refused << "\n";
}

// cuda_math is the GPU oracle: it must run every case of the grid.
TEST(GpuConformanceCoverage, CudaMathRunsTheWholeGrid) {
  ATTEND_REQUIRE_GPU();
  for (DType t : {DType::f32, DType::bf16, DType::f16}) {
    for (ProblemSpec spec : grid(t)) {
      spec.random_inputs = false;
      support::HostProblem host(spec);
      support::DeviceProblem dev(host);
      const auto why = gpu_testing::refusal(dev.params(), "cuda_math");
      EXPECT_FALSE(why.has_value()) << spec.describe() << ": " << why.value_or("");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, GpuConformance, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           return info.param.backend + "_" + std::string(name(info.param.dtype));
                         });

}  // namespace
}  // namespace attend
