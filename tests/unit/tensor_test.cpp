#include <gtest/gtest.h>

#include <limits>

#include "attend/attend.hpp"

namespace attend {
namespace {

TEST(TensorView, ContiguousStridesAreRowMajor) {
  float x[2 * 3 * 4 * 5];
  TensorView t = view(x, f32, cpu, {2, 3, 4, 5});
  EXPECT_EQ(t.rank, 4);
  EXPECT_EQ(t.strides[0], 60);
  EXPECT_EQ(t.strides[1], 20);
  EXPECT_EQ(t.strides[2], 5);
  EXPECT_EQ(t.strides[3], 1);
  EXPECT_EQ(t.numel(), 120);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_TRUE(t.present());
}

TEST(TensorView, ExplicitStridesAndContiguity) {
  float x[64];
  TensorView t = view(x, f32, cpu, {2, 4}, {1, 2});  // transposed
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(describe(t), "fp32[2, 4] on cpu");
  EXPECT_FALSE(TensorView{}.present());
}

TEST(TensorView, NumelReportsOverflowAndNegativeSizes) {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max() / 2;
  TensorView t = view(nullptr, f32, cpu, {big, 4});
  EXPECT_EQ(t.numel(), -1);
  TensorView n = view(nullptr, f32, cpu, {-1, 4});
  EXPECT_EQ(n.numel(), -1);
  TensorView z = view(nullptr, f32, cpu, {0, 4});
  EXPECT_EQ(z.numel(), 0);
}

TEST(TensorView, MismatchedStrideCountThrows) {
  try {
    view(nullptr, f32, cpu, {2, 3}, {1});
    FAIL() << "expected attend::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::rank);
  }
}

TEST(DType, NamesSizesAndParsing) {
  EXPECT_EQ(name(bf16), "bf16");
  EXPECT_EQ(size_of(bf16), 2u);
  EXPECT_EQ(size_of(f64), 8u);
  DType t{};
  ASSERT_TRUE(parse_dtype("float16", t));
  EXPECT_EQ(t, f16);
  ASSERT_TRUE(parse_dtype("fp32", t));
  EXPECT_EQ(t, f32);
  EXPECT_FALSE(parse_dtype("fp8", t));
  EXPECT_TRUE(is_floating(bf16));
  EXPECT_FALSE(is_floating(boolean));
}

TEST(Device, ToString) {
  EXPECT_EQ(to_string(cpu), "cpu");
  EXPECT_EQ(to_string(Device::cuda(3)), "cuda:3");
  EXPECT_NE(cpu, Device::cuda(0));
}

}  // namespace
}  // namespace attend
