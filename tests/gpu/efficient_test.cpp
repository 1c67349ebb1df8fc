// `efficient` against cuda_math past one tile of queries and keys: every kind of mask it exists
// for (additive in the inputs' dtype or fp32, bool, broadcast over any of B/H/Sq/Sk, key counts
// that are not a multiple of 8, key padding, with causal and windows), fp32 inputs on its exact
// kernel at every head-dim width it serves, fp16 and bf16 on the masked tensor-core kernel,
// GQA, softcap and LSE. Outputs are poisoned first.
#include <vector>

#include "gpu_fixture.hpp"

namespace attend {
namespace {

using support::MaskKind;
using support::ProblemSpec;

ProblemSpec base(DType t, std::int64_t d) {
  ProblemSpec s;
  s.dtype = t;
  s.B = 2, s.Hq = 4, s.Hkv = 4, s.Sq = 300, s.Sk = 517, s.D = d;
  s.lse = true;
  return s;
}

std::vector<ProblemSpec> masked_specs(DType t) {
  std::vector<ProblemSpec> out;
  for (std::int64_t d : {64, 128, 256}) {
    ProblemSpec s = base(t, d);
    s.mask = MaskKind::additive;  // (B, H, Sq, Sk), 517 keys a row
    out.push_back(s);
  }
  ProblemSpec per_head = base(t, 128);
  per_head.mask = MaskKind::additive, per_head.mask_shape = {1, 4, 1, 517};
  out.push_back(per_head);
  ProblemSpec boolean = base(t, 64);
  boolean.mask = MaskKind::boolean, boolean.mask_shape = {2, 1, 300, 517}, boolean.mask_keep = 0.3;
  boolean.causal = true, boolean.align = Align::bottom_right;
  out.push_back(boolean);
  ProblemSpec padded = base(t, 128);
  padded.B = 3, padded.key_padding = true, padded.mask = MaskKind::additive;
  padded.mask_shape = {300, 517};
  out.push_back(padded);
  ProblemSpec gqa = base(t, 128);
  gqa.Hq = 8, gqa.Hkv = 2, gqa.window = {100, 30}, gqa.mask = MaskKind::boolean;
  out.push_back(gqa);
  ProblemSpec softcap = base(t, 64);
  softcap.softcap = 15.0, softcap.mask = MaskKind::additive, softcap.mask_shape = {2, 1, 1, 517};
  out.push_back(softcap);
  ProblemSpec narrow = base(t, 40);  // a padded instantiation for half precision
  narrow.mask = MaskKind::additive;
  out.push_back(narrow);
  ProblemSpec plain = base(t, 128);  // no mask at all
  plain.causal = true;
  out.push_back(plain);
  return out;
}

class Efficient : public ::testing::Test {
 protected:
  void SetUp() override { gpu_testing::require_available("efficient"); }
};

TEST_F(Efficient, HalfPrecisionMasksMatchCudaMath) {
  gpu_testing::expect_matches_cuda_math("efficient", masked_specs(DType::bf16), 300);
  gpu_testing::expect_matches_cuda_math("efficient", masked_specs(DType::f16), 400);
}

TEST_F(Efficient, Fp32MatchesCudaMathToFp32Tolerance) {
  std::vector<ProblemSpec> specs = masked_specs(DType::f32);
  for (std::int64_t d : {8, 96, 200}) {  // every lane-chunk count of the fp32 kernel
    ProblemSpec s = base(DType::f32, d);
    s.causal = true;
    specs.push_back(s);
  }
  gpu_testing::expect_matches_cuda_math("efficient", specs, 500);
}

}  // namespace
}  // namespace attend
