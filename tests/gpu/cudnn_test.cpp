// `cudnn` against cuda_math at sizes past cuDNN's tiles: both causal alignments, GQA, head dims
// 64/128/256, an additive bias cuDNN reads in place and masks attend converts for it (bool,
// fp32, key padding, broadcasts), packed sequences; its dropout (cuDNN's own random stream) for
// reproducibility and an unbiased mean; and cuDNN's refusals surfacing as reasons. Outputs are
// poisoned first.
#include <cmath>
#include <string>
#include <vector>

#include "common/elements.hpp"
#include "gpu_fixture.hpp"

namespace attend {
namespace {

using support::MaskKind;
using support::ProblemSpec;

ProblemSpec base(DType t, std::int64_t d) {
  ProblemSpec s;
  s.dtype = t;
  s.B = 2, s.Hq = 8, s.Hkv = 8, s.Sq = 700, s.Sk = 1000, s.D = d;
  s.lse = true;
  return s;
}

std::vector<ProblemSpec> specs() {
  std::vector<ProblemSpec> out;
  for (DType t : {DType::bf16, DType::f16}) {
    for (std::int64_t d : {64, 128, 256}) {
      ProblemSpec s = base(t, d);
      out.push_back(s);
      ProblemSpec c = s;
      c.causal = true, c.Sq = c.Sk = 777;
      out.push_back(c);
      c.align = Align::bottom_right, c.Sk = 1333;
      out.push_back(c);
    }
  }
  ProblemSpec gqa = base(DType::bf16, 128);
  gqa.Hkv = 2, gqa.causal = true;
  out.push_back(gqa);
  ProblemSpec window = base(DType::bf16, 128);
  window.causal = true, window.window = {200, -1}, window.Sq = window.Sk = 900;
  out.push_back(window);
  // Read in place: bf16 rows of 1000 keys (16-byte aligned), broadcast over heads.
  ProblemSpec in_place = base(DType::bf16, 128);
  in_place.mask = MaskKind::additive, in_place.mask_shape = {2, 1, 700, 1000};
  out.push_back(in_place);
  // Converted: odd key counts, bool, broadcasts over queries, key padding with causal.
  ProblemSpec odd = in_place;
  odd.Sk = 1001, odd.mask_shape = {2, 8, 700, 1001};
  out.push_back(odd);
  ProblemSpec boolean = base(DType::f16, 64);
  boolean.mask = MaskKind::boolean, boolean.mask_shape = {1, 1, 700, 1000};
  out.push_back(boolean);
  ProblemSpec per_key = base(DType::bf16, 128);
  per_key.mask = MaskKind::additive, per_key.mask_shape = {2, 1, 1, 1000};
  out.push_back(per_key);
  ProblemSpec padded = base(DType::bf16, 128);
  padded.B = 3, padded.key_padding = true, padded.causal = true, padded.Sq = padded.Sk = 640;
  out.push_back(padded);
  ProblemSpec packed = base(DType::bf16, 128);
  packed.seqlens_q = {700, 1, 129, 333};
  packed.seqlens_k = {900, 5, 129, 1000};
  packed.lse = false;  // cuDNN's packed path gives no LSE here
  out.push_back(packed);
  packed.causal = true, packed.align = Align::bottom_right;
  out.push_back(packed);
  return out;
}

class Cudnn : public ::testing::Test {
 protected:
  void SetUp() override { gpu_testing::require_available("cudnn"); }
};

TEST_F(Cudnn, MatchesCudaMath) {
  gpu_testing::expect_matches_cuda_math("cudnn", specs(), 700);
}

std::vector<float> as_floats(const support::Output& o, DType t) {
  std::vector<float> x(o.out.size() / 2);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(common::load_element(o.out.data(), t, static_cast<std::int64_t>(i)));
  }
  return x;
}

double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / den);
}

// cuDNN's dropout has its own random stream, so it cannot match the reference element for
// element: the same seed gives the same output, another seed another, and the mean over seeds
// approaches the output without dropout.
TEST_F(Cudnn, DropoutIsReproducibleAndUnbiased) {
  ProblemSpec spec = base(DType::bf16, 64);
  spec.Sq = 128, spec.Sk = 512, spec.lse = false;
  support::HostProblem host(spec);
  support::DeviceProblem dev(host);
  attention(dev.params(), "cudnn");
  const std::vector<float> plain = as_floats(dev.download(), spec.dtype);

  Params p = dev.params();
  p.dropout_p = 0.2;
  constexpr int kSeeds = 48;
  std::vector<double> mean(plain.size(), 0.0);
  std::vector<float> first;
  for (int s = 0; s < kSeeds; ++s) {
    p.dropout_seed = 1000 + s;
    attention(p, "cudnn");
    const std::vector<float> got = as_floats(dev.download(), spec.dtype);
    if (s == 0) first = got;
    for (std::size_t i = 0; i < got.size(); ++i) mean[i] += got[i] / kSeeds;
  }
  const double one_seed = rel_l2(first, plain);
  EXPECT_GT(one_seed, 0.05) << "dropout changed nothing";
  p.dropout_seed = 1000;
  attention(p, "cudnn");
  EXPECT_EQ(as_floats(dev.download(), spec.dtype), first) << "same seed, different output";
  // Unbiased: the mean's distance shrinks like 1/sqrt(seeds). Weights not rescaled by
  // 1/(1-p) would leave it at p = 20% however many seeds.
  const std::vector<float> mean_f(mean.begin(), mean.end());
  EXPECT_LT(rel_l2(mean_f, plain), 1.5 * one_seed / std::sqrt(double{kSeeds}));
}

// What cuDNN declines surfaces as this backend's reason, in cuDNN's words.
TEST_F(Cudnn, RefusalsAreCudnnsOwnWords) {
  ProblemSpec spec = base(DType::bf16, 128);
  spec.causal = true, spec.align = Align::bottom_right, spec.dropout_p = 0.1;
  spec.random_inputs = false;
  support::HostProblem host(spec);
  support::DeviceProblem dev(host);
  const Explanation ex = explain(dev.params(), "cudnn");
  for (const Verdict& v : ex.verdicts) {
    if (v.backend != "cudnn") continue;
    ASSERT_FALSE(v.ok);
    ASSERT_FALSE(v.reasons.empty());
    EXPECT_EQ(v.reasons[0].code, Code::unsupported) << format_verdicts({v});
    EXPECT_NE(v.reasons[0].got.find("cuDNN"), std::string::npos) << format_verdicts({v});
  }
  EXPECT_THROW(attention(dev.params(), "cudnn"), NoBackendError);
}

// `auto` never hands an additive bias to a backend that would ignore it.
TEST(MaskSelection, AdditiveBiasGoesToAMaskBackend) {
  ATTEND_REQUIRE_GPU();
  for (MaskKind kind : {MaskKind::additive, MaskKind::boolean}) {
    ProblemSpec spec = base(DType::bf16, 128);
    spec.mask = kind, spec.mask_shape = {2, 1, 700, 1000}, spec.random_inputs = false;
    support::HostProblem host(spec);
    support::DeviceProblem dev(host);
    const Explanation ex = explain(dev.params());
    EXPECT_TRUE(ex.chosen == "cudnn" || ex.chosen == "efficient" || ex.chosen == "cuda_math")
        << ex.chosen;
    for (const Verdict& v : ex.verdicts) {
      if (!v.ok) continue;
      for (const BackendInfo& b : list_backends()) {
        if (b.id != v.backend) continue;
        EXPECT_TRUE(kind == MaskKind::additive ? b.capabilities.additive_mask
                                               : b.capabilities.bool_mask)
            << v.backend << " passes a masked problem without taking masks";
      }
    }
  }
}

}  // namespace
}  // namespace attend
