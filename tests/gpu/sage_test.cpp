// sage, sage_varlen and sage_fp8 against cuda_math (fp32 accumulation) on the inputs that break
// quantized attention: random data, large per-channel offsets in K, outlier tokens (0.1% x100),
// bf16 rows and V channels far outside fp16's range, and a 32k sequence; with causal bands in both
// alignments, GQA, LSE, both head-dim kernels and a padded one, packed sequences and key
// padding. Every case is held to the quantized bounds (cosine >= 0.999, relative L1 <= 0.03,
// LSE error <= 0.03·(1 + |LSE|)) and its figures are printed. Outputs are poisoned first; a
// second run must give the same bytes.
//
// Outlier tokens are held to the output bounds only: a key 100x longer than the rest carries
// 100x the int8 error in its scores (about one logit), so the LSE of a row whose largest score
// comes from such a key is off by about that much whatever its size.
#include <iostream>
#include <string>
#include <vector>

#include "gpu_fixture.hpp"

namespace attend {
namespace {

using support::Inputs;
using support::ProblemSpec;

ProblemSpec base(DType t, std::int64_t d, Inputs inputs = Inputs::normal) {
  ProblemSpec s;
  s.dtype = t;
  s.B = 2, s.Hq = 8, s.Hkv = 8, s.Sq = 1100, s.Sk = 1100, s.D = d;
  s.lse = true;
  s.inputs = inputs;
  return s;
}

std::vector<ProblemSpec> dense_specs() {
  std::vector<ProblemSpec> out;
  for (DType t : {DType::bf16, DType::f16}) {
    for (std::int64_t d : {64, 128, 96}) {
      out.push_back(base(t, d));
      ProblemSpec c = base(t, d);
      c.causal = true, c.Sq = 700, c.Sk = 1333, c.align = Align::bottom_right;
      out.push_back(c);
      c.align = Align::top_left;
      out.push_back(c);
    }
  }
  for (Inputs in : {Inputs::channel_offsets, Inputs::outlier_tokens, Inputs::wide_range}) {
    for (std::int64_t d : {64, 128}) {
      ProblemSpec s = base(DType::bf16, d, in);
      s.Hq = 8, s.Hkv = 2;  // GQA
      out.push_back(s);
      s.causal = true;
      out.push_back(s);
    }
  }
  ProblemSpec window = base(DType::bf16, 128);
  window.window = {300, 45};
  out.push_back(window);
  ProblemSpec negative = base(DType::f16, 64);
  negative.scale = -0.07;
  out.push_back(negative);
  ProblemSpec bhsd = base(DType::bf16, 128);
  bhsd.layout = Layout::BHSD, bhsd.Sk = 517;
  out.push_back(bhsd);
  ProblemSpec empty_keys = base(DType::bf16, 64);
  empty_keys.Sk = 0;
  out.push_back(empty_keys);
  return out;
}

std::vector<ProblemSpec> varlen_specs() {
  std::vector<ProblemSpec> out;
  for (std::int64_t d : {64, 128}) {
    ProblemSpec s = base(DType::bf16, d, Inputs::channel_offsets);
    s.seqlens_q = {1000, 0, 1, 129, 577};
    s.seqlens_k = {900, 5, 0, 300, 1025};
    s.Hq = 8, s.Hkv = 4;
    out.push_back(s);
    s.causal = true, s.align = Align::bottom_right;
    out.push_back(s);
  }
  ProblemSpec padded = base(DType::f16, 128, Inputs::outlier_tokens);
  padded.B = 3, padded.key_padding = true, padded.Sk = 1200;
  out.push_back(padded);
  return out;
}

// `backend` against cuda_math (gpu_fixture.hpp), its figures printed, and a second run into
// poisoned outputs that must repeat the first bit for bit.
void expect_accurate(const std::string& backend, const std::vector<ProblemSpec>& specs) {
  gpu_testing::expect_matches_cuda_math(
      backend, specs, 70,
      [&](const ProblemSpec& spec, support::DeviceProblem& dev, const support::Output& got,
          const support::Comparison& cmp) {
        std::cout << backend << " " << spec.describe() << ": cosine " << cmp.cosine << ", rel_l1 "
                  << cmp.rel_l1 << ", lse max_rel " << cmp.lse_max_rel << "\n";
        dev.poison_outputs();
        attention(dev.params(), backend);
        const support::Output again = dev.download();
        EXPECT_TRUE(again.out == got.out && again.lse == got.lse) << "a second run differs";
      });
}

TEST(SageAccuracy, DenseProblemsAndAdversarialInputs) {
  expect_accurate("sage", dense_specs());
}

TEST(SageAccuracy, PackedSequencesAndKeyPadding) {
  expect_accurate("sage_varlen", varlen_specs());
}

// sage_fp8 on the dense cases, and on shapes of the persistent schedule's two paths: more
// uniform tiles than SMs (the shared tail cuts some in two) and causal ones (the tile queue).
TEST(SageAccuracy, Fp8DenseProblemsAndAdversarialInputs) {
  std::vector<ProblemSpec> specs = dense_specs();
  ProblemSpec tail = base(DType::bf16, 128);
  tail.B = 1, tail.Hq = 24, tail.Hkv = 24, tail.Sq = tail.Sk = 1536;
  specs.push_back(tail);
  tail.causal = true, tail.Hkv = 6;
  specs.push_back(tail);
  expect_accurate("sage_fp8", specs);
}

TEST(SageAccuracy, LongSequence) {
  for (const char* backend : {"sage", "sage_fp8"}) {
    for (Inputs in : {Inputs::normal, Inputs::channel_offsets}) {
      ProblemSpec s = base(DType::bf16, 128, in);
      s.B = 1, s.Hq = 2, s.Hkv = 1, s.Sq = 32768, s.Sk = 32768;
      expect_accurate(backend, {s});
    }
  }
}

}  // namespace
}  // namespace attend
