// flash3 and flash3_varlen against cuda_math at sizes that exercise what small conformance cases
// cannot: more query tiles than SMs (the persistent schedule wraps, and on 132 SMs the last
// tiles are cut between blocks, which hand their state over), key blocks in every ring
// slot phase, every head-dim instantiation (and a padded one), causal and window bands that
// start and end mid-tile in both alignments, softcap and a negative scale (the general softmax),
// GQA, fp16 and bf16, and packed sequences of odd lengths. Causal, window and packed problems of
// more tiles than SMs take their tiles from the tile queue. Outputs are poisoned first.
#include <iostream>
#include <string>
#include <vector>

#include "gpu_fixture.hpp"

namespace attend {
namespace {

using support::ProblemSpec;

ProblemSpec base(DType t, std::int64_t d) {
  ProblemSpec s;
  s.dtype = t;
  s.B = 2, s.Hq = 16, s.Hkv = 16, s.Sq = 1100, s.Sk = 1100, s.D = d;  // 9·16·2 = 288 tiles
  s.lse = true;
  return s;
}

std::vector<ProblemSpec> dense_specs() {
  std::vector<ProblemSpec> out;
  for (DType t : {DType::bf16, DType::f16}) {
    for (std::int64_t d : {64, 128, 256, 96}) {
      ProblemSpec s = base(t, d);
      out.push_back(s);
      ProblemSpec c = s;
      c.causal = true, c.Sq = 700, c.Sk = 1333, c.align = Align::bottom_right;
      out.push_back(c);
      c.align = Align::top_left;
      out.push_back(c);
      ProblemSpec w = s;
      w.window = {300, 45};
      w.Hq = 8, w.Hkv = 2;
      out.push_back(w);
    }
  }
  // The shared tail (288 tiles on 132 SMs: the last 156 are cut into runs of key blocks) with
  // one and two key blocks per tile, and with the general softmax.
  for (std::int64_t keys : {100, 130}) {
    ProblemSpec few = base(DType::bf16, 128);
    few.Sk = keys, few.Hkv = 4;
    out.push_back(few);
  }
  ProblemSpec capped = base(DType::f16, 64);
  capped.softcap = 30.0;
  out.push_back(capped);
  ProblemSpec softcap = base(DType::bf16, 128);
  softcap.softcap = 20.0, softcap.causal = true;
  out.push_back(softcap);
  ProblemSpec negative = base(DType::f16, 64);
  negative.scale = -0.07;
  out.push_back(negative);
  ProblemSpec bhsd = base(DType::bf16, 128);
  bhsd.layout = Layout::BHSD, bhsd.Sk = 517;
  out.push_back(bhsd);
  ProblemSpec one_row = base(DType::bf16, 128);
  one_row.Sq = 1, one_row.Sk = 1000, one_row.B = 3;
  out.push_back(one_row);
  one_row.Sk = 4099;  // few tiles, long keys: flash's split-KV kernel runs it
  out.push_back(one_row);
  return out;
}

std::vector<ProblemSpec> varlen_specs() {
  std::vector<ProblemSpec> out;
  for (std::int64_t d : {64, 128, 256}) {
    ProblemSpec s = base(DType::bf16, d);
    s.seqlens_q = {1000, 0, 1, 129, 577};
    s.seqlens_k = {900, 5, 0, 300, 1025};
    s.Hq = 8, s.Hkv = 4;
    out.push_back(s);
    s.causal = true, s.align = Align::bottom_right;
    out.push_back(s);
  }
  ProblemSpec padded = base(DType::f16, 128);
  padded.B = 3, padded.key_padding = true, padded.Sk = 1000;
  out.push_back(padded);
  return out;
}

TEST(Flash3, DenseMatchesCudaMath) {
  gpu_testing::expect_matches_cuda_math("flash3", dense_specs());
}

TEST(Flash3, PackedSequencesMatchCudaMath) {
  gpu_testing::expect_matches_cuda_math("flash3_varlen", varlen_specs());
}

// Twice on the same inputs: whichever block takes a tile from the queue computes it whole, and
// nothing is accumulated atomically, so the output is bit-identical.
TEST(Flash3, RunsAreBitIdentical) {
  gpu_testing::require_available("flash3");
  if (::testing::Test::IsSkipped()) return;
  ProblemSpec spec = base(DType::bf16, 128);
  spec.causal = true;
  support::HostProblem host(spec);
  support::DeviceProblem dev(host);
  attention(dev.params(), "flash3");
  const support::Output first = dev.download();
  dev.poison_outputs();
  attention(dev.params(), "flash3");
  const support::Output second = dev.download();
  EXPECT_EQ(first.out, second.out);
  EXPECT_EQ(first.lse, second.lse);
}

}  // namespace
}  // namespace attend
