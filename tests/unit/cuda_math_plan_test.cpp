// cuda_math's chunk plan (no GPU needed): whole problems when they fit, even pieces when they do
// not, the workspace bounded by the budget, and the buffers laid out without overlap.
#include <gtest/gtest.h>

#include "backends/cuda_math/plan.hpp"

namespace attend::cuda_math {
namespace {

std::size_t floats(std::int64_t n) {
  return static_cast<std::size_t>(n) * sizeof(float);
}

TEST(CudaMathPlan, SmallProblemIsOneChunk) {
  const Shape s{2 * 3, 1, 17, 63, 64, 64};
  const Plan p = make_plan(s);
  EXPECT_EQ(p.units, 6);
  EXPECT_EQ(p.rows, 17);
  EXPECT_GE(p.v_offset - p.k_offset, floats(6 * 63 * 64));
  EXPECT_GE(p.q_offset - p.v_offset, floats(6 * 63 * 64));
  EXPECT_GE(p.s_offset - p.q_offset, floats(6 * 17 * 64));
  EXPECT_GE(p.o_offset - p.s_offset, floats(6 * 17 * 63));
  EXPECT_GE(p.cublas_offset - p.o_offset, floats(6 * 17 * 64));
  EXPECT_EQ(p.bytes, p.cublas_offset + (std::size_t{32} << 20));
  for (std::size_t off : {p.v_offset, p.q_offset, p.s_offset, p.o_offset, p.cublas_offset}) {
    EXPECT_EQ(off % 256, 0u);
  }
}

// wan-480p (B1 H40 S32760 D128): one head's scores are 4 GiB, so query rows come in even pieces.
TEST(CudaMathPlan, WanRowsComeInEvenPieces) {
  const Plan p = make_plan({40, 1, 32760, 32760, 128, 128});
  EXPECT_EQ(p.units, 1);
  EXPECT_EQ(p.rows, 6552);  // 5 pieces
  EXPECT_EQ(32760 % p.rows, 0);
  EXPECT_LE(p.cublas_offset, floats(kBudgetFloats));
}

TEST(CudaMathPlan, UnitsComeInEvenPiecesAndStayInBudget) {
  const Shape s{300, 2, 1024, 1024, 16, 16};
  const Plan p = make_plan(s);
  EXPECT_EQ(p.rows, 1024);
  EXPECT_EQ(p.units, 100);
  EXPECT_LE(p.cublas_offset, floats(kBudgetFloats));
}

TEST(CudaMathPlan, OversizedRowsTakeOneRowAtATime) {
  // K and V alone pass the budget: the smallest chunk is taken whatever it costs.
  const Plan p = make_plan({1, 1, 3, std::int64_t{1} << 28, 8, 8});
  EXPECT_EQ(p.units, 1);
  EXPECT_EQ(p.rows, 1);
}

TEST(CudaMathPlan, NoKeys) {
  const Plan p = make_plan({4, 2, 9, 0, 32, 32});
  EXPECT_EQ(p.units, 4);
  EXPECT_EQ(p.rows, 9);
  EXPECT_EQ(p.s_offset, p.q_offset + floats(4 * 2 * 9 * 32));
}

TEST(CudaMathPlan, EvenPiece) {
  EXPECT_EQ(even_piece(32760, 7875), 6552);
  EXPECT_EQ(even_piece(10, 100), 10);
  EXPECT_EQ(even_piece(10, 0), 1);
  EXPECT_EQ(even_piece(0, 5), 1);
}

}  // namespace
}  // namespace attend::cuda_math
