// Every GPU backend against the CPU `math` reference on small random problems with odd sizes:
// head dims, Sq != Sk with both causal alignments, windows, GQA, softcap, dropout, LSE, varlen,
// key padding with a fully padded batch, every kind of mask, fully masked rows, layouts and
// strides, empty problems; fp32, bf16 and fp16. Device outputs are poisoned with NaN first, so an
// element a backend forgets to write fails. One test per (backend, dtype) walks the whole grid,
// which keeps the number of processes (each paying CUDA's start-up) small.
#include <iostream>
#include <string>
#include <vector>

#include "gpu_fixture.hpp"

namespace attend {
namespace {

using support::MaskKind;
using support::ProblemSpec;

ProblemSpec base(DType t) {
  ProblemSpec s;
  s.dtype = t;
  s.B = 2, s.Hq = 3, s.Hkv = 3, s.Sq = 17, s.Sk = 63, s.D = 64;
  s.lse = true;
  return s;
}

std::vector<ProblemSpec> grid(DType t) {
  std::vector<ProblemSpec> out;
  std::uint64_t seed = 500;
  auto add = [&](ProblemSpec s) {
    s.seed = ++seed;
    out.push_back(std::move(s));
  };
  const ProblemSpec s = base(t);
  for (std::int64_t d : {32, 64, 80, 96, 128, 256}) {
    ProblemSpec c = s;
    c.D = d;
    add(c);
  }
  for (auto [sq, sk] : {std::pair{1, 1}, {1, 200}, {130, 200}, {130, 63}, {17, 1}}) {
    ProblemSpec c = s;
    c.Sq = sq, c.Sk = sk;
    add(c);
  }
  for (Align a : {Align::top_left, Align::bottom_right}) {
    for (auto [sq, sk] : {std::pair{17, 63}, {130, 63}, {1, 200}, {130, 130}}) {
      ProblemSpec c = s;
      c.causal = true, c.align = a, c.Sq = sq, c.Sk = sk;
      add(c);
    }
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
  for (auto [hq, hkv] : {std::pair{4, 2}, {8, 1}}) {
    ProblemSpec c = s;
    c.Hq = hq, c.Hkv = hkv;
    add(c);
    c.causal = true, c.align = Align::bottom_right, c.Sq = 130;
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
  {
    ProblemSpec c = s;
    c.dropout_p = 0.15;
    add(c);
    c.Hq = 4, c.Hkv = 2, c.causal = true, c.align = Align::bottom_right;
    add(c);
  }
  const std::int64_t B = s.B, H = s.Hq, Sq = s.Sq, Sk = s.Sk;
  const std::vector<std::vector<std::int64_t>> shapes = {
      {Sq, Sk}, {B, Sq, Sk}, {B, H, Sq, Sk}, {1, Sk}, {B, 1, 1, Sk}, {1, H, 1, Sk}};
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
    c.B = 3;
    c.key_padding = true;  // batch 1 fully padded
    add(c);
    c.mask = MaskKind::additive;
    add(c);
    c.mask = MaskKind::none;
    c.causal = true;
    c.Sk = 200;
    add(c);
  }
  for (auto lens : {std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>>{
                        {17, 0, 33, 1}, {25, 5, 0, 40}},
                    {{130, 3}, {130, 200}}}) {
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
    c.layout = Layout::BHSD;
    add(c);
    c.strided = true;
    add(c);
    c.layout = Layout::BSHD;
    c.causal = true;
    add(c);
    c.row_pad = 8;  // strided, rows still 16-byte aligned: within reach of vector loads
    add(c);
    c.layout = Layout::BHSD;
    add(c);
  }
  {
    ProblemSpec c = s;
    c.Dv = 32;
    add(c);
    c.D = 17, c.Dv = 0;
    add(c);
    c.D = 512, c.Sq = 3;
    add(c);
  }
  for (auto [b, sq, sk] : {std::tuple{2, 0, 9}, {2, 9, 0}, {0, 9, 9}}) {
    ProblemSpec c = s;
    c.B = b, c.Sq = sq, c.Sk = sk;
    add(c);
  }
  return out;
}

struct GpuCase {
  std::string backend;
  DType dtype;
};

void PrintTo(const GpuCase& c, std::ostream* os) { *os << c.backend << " " << name(c.dtype); }

std::vector<GpuCase> cases() {
  std::vector<GpuCase> out;
  for (const std::string& b : gpu_testing::gpu_backends()) {
    for (DType t : {DType::f32, DType::bf16, DType::f16}) out.push_back({b, t});
  }
  return out;
}

class GpuConformance : public ::testing::TestWithParam<GpuCase> {
 protected:
  void SetUp() override {
    ATTEND_REQUIRE_GPU();
    const Availability a = gpu_testing::availability_of(GetParam().backend);
    if (a.score <= 0) GTEST_SKIP() << GetParam().backend << " is unavailable: " << a.reason;
  }
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
    attention(dev.params(), c.backend);
    const support::Output got = dev.download();
    const support::Comparison cmp = support::compare(host, got, gpu_testing::reference(host));
    // DESIGN §7: fp32 1e-5 (only a reference-grade backend runs fp32), bf16/fp16 1e-2.
    EXPECT_TRUE(support::passes(cmp, spec.dtype)) << gpu_testing::describe(cmp);
    ++ran;
  }
  if (ran == 0) GTEST_SKIP() << c.backend << " refuses every " << name(c.dtype) << " case:" << refused;
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
