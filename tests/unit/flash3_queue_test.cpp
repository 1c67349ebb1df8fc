// flash3's choice of schedule on the host (no GPU needed): which problems take their tiles from
// the tile queue, and how large its head groups are.
#include <gtest/gtest.h>

#include "backends/flash3/queue.hpp"
#include "backends/flash3/tiles.hpp"

namespace attend::flash3 {
namespace {

constexpr int kGrid = 132;

Flash3Params problem(int B, int Hq, int Hkv, int S, bool causal) {
  Flash3Params p;
  p.f.B = B, p.f.Hq = Hq, p.f.Hkv = Hkv, p.f.group = Hq / Hkv;
  p.f.Sq = S, p.f.Sk = S;
  if (causal) p.f.window_right = 0;
  p.m_blocks = (S + kBlockM - 1) / kBlockM;
  p.tiles = p.m_blocks * Hq * B;
  return p;
}

TEST(Flash3Queue, CausalProblemsGroupAboutOneRoundOfHeads) {
  // llm-causal: 32 query tiles per head, so 5 heads fill a round; 8 is the next divisor of 128.
  EXPECT_EQ(plan_queue(problem(4, 32, 32, 4096, true), kGrid).group, 8);
  // llm-gqa: 64 tiles per head need 3 heads; whole GQA groups of 4.
  EXPECT_EQ(plan_queue(problem(2, 32, 8, 8192, true), kGrid).group, 4);
  // 8 tiles per head need 17 of 40 heads: 20 divides 40.
  EXPECT_EQ(plan_queue(problem(1, 40, 40, 1024, true), kGrid).group, 20);
  // A prime head count has no divisor in between: one group of all heads.
  EXPECT_EQ(plan_queue(problem(1, 37, 37, 4096, true), kGrid).group, 37);
}

TEST(Flash3Queue, WindowsAndPackedSequencesUseIt) {
  Flash3Params window = problem(1, 16, 16, 4096, false);
  window.f.window_left = 256;
  EXPECT_GT(plan_queue(window, kGrid).group, 0);
  Flash3Params packed = problem(3, 16, 16, 4096, false);
  const int cu[] = {0, 100, 4096, 5000};
  packed.f.cu_q = cu, packed.f.cu_k = cu;
  EXPECT_GT(plan_queue(packed, kGrid).group, 0);
}

TEST(Flash3Queue, EvenOrFewTilesKeepTheFixedOrder) {
  EXPECT_EQ(plan_queue(problem(1, 24, 24, 4608, false), kGrid).group, 0);  // flux: uniform
  EXPECT_EQ(plan_queue(problem(1, 8, 8, 2048, true), kGrid).group, 0);     // 128 tiles
  EXPECT_EQ(plan_queue(problem(1, 8, 8, 2048, true), 0).group, 0);
}

}  // namespace
}  // namespace attend::flash3
