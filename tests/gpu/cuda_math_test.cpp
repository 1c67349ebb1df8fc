// What only the GPU reference promises beyond the conformance grid: NaN propagation and
// harmless garbage in unseen V rows exactly as `math` does them, chunked problems (query rows,
// units of (batch, KV head)) agreeing with the same rows run as separate calls, and bitwise
// repeatable results.
#include <cstring>
#include <limits>
#include <vector>

#include "backends/cuda_math/plan.hpp"
#include "common/elements.hpp"
#include "gpu_fixture.hpp"

namespace attend {
namespace {

using support::ProblemSpec;

class CudaMath : public ::testing::Test {
 protected:
  void SetUp() override { gpu_testing::require_available("cuda_math"); }
};

// Element offset of (b, s, h, d) in a BSHD view.
std::int64_t at(const TensorView& t, std::int64_t b, std::int64_t s, std::int64_t h,
                std::int64_t d) {
  return b * t.strides[0] + s * t.strides[1] + h * t.strides[2] + d * t.strides[3];
}

// Writes into a host problem's inputs through its (mutable) views, before the device copy.
void poke(const TensorView& t, std::int64_t offset, double value) {
  common::store_element(t.data, t.dtype, offset, value);
}

TEST_F(CudaMath, NanScoresPropagateLikeTheReference) {
  ProblemSpec spec;
  spec.B = 2, spec.Hq = 2, spec.Hkv = 2, spec.Sq = 17, spec.Sk = 63, spec.D = 32;
  spec.causal = true, spec.align = Align::bottom_right, spec.lse = true;
  support::HostProblem host(spec);
  support::Output scratch = host.make_output();
  const Params views = host.params(scratch);
  poke(views.q, at(views.q, 0, 3, 1, 5), std::numeric_limits<double>::quiet_NaN());   // one row
  poke(views.k, at(views.k, 1, 50, 0, 2), std::numeric_limits<double>::quiet_NaN());  // later rows
  const support::Output ref = gpu_testing::reference(host);
  std::int64_t nan_rows = 0;
  for (float l : ref.lse) nan_rows += std::isnan(l);
  ASSERT_GT(nan_rows, 1) << "the reference should have NaN rows";

  support::DeviceProblem dev(host);
  attention(dev.params(), "cuda_math");
  const support::Comparison cmp = support::compare(host, dev.download(), ref);
  EXPECT_TRUE(support::passes(cmp, spec.dtype)) << gpu_testing::describe(cmp);
}

// docs/semantics.md: a NaN or Inf in a V row that no weight reaches (outside the band, masked
// out) does not reach the output, although the GEMM multiplies it by zero.
TEST_F(CudaMath, GarbageInUnseenValueRowsStaysOut) {
  for (bool padding : {false, true}) {
    ProblemSpec spec;
    spec.B = 3, spec.Hq = 2, spec.Hkv = 2, spec.Sq = 30, spec.Sk = 40, spec.D = 16;
    spec.causal = !padding;  // top-left: keys past the last query row are seen by none
    spec.key_padding = padding;
    spec.lse = true;
    SCOPED_TRACE(spec.describe());
    support::HostProblem host(spec);
    support::Output scratch = host.make_output();
    const Params views = host.params(scratch);
    for (std::int64_t b = 0; b < spec.B; ++b) {
      for (std::int64_t j = 0; j < spec.Sk; ++j) {
        const bool unseen = padding ? static_cast<const std::uint8_t*>(
                                          views.key_padding_mask.data)[b * spec.Sk + j] == 0
                                    : j >= spec.Sq;
        if (!unseen) continue;
        for (std::int64_t h = 0; h < spec.Hkv; ++h) {
          poke(views.v, at(views.v, b, j, h, 0), std::numeric_limits<double>::quiet_NaN());
          poke(views.v, at(views.v, b, j, h, 1), std::numeric_limits<double>::infinity());
        }
      }
    }
    const support::Output ref = gpu_testing::reference(host);
    support::DeviceProblem dev(host);
    attention(dev.params(), "cuda_math");
    const support::Comparison cmp = support::compare(host, dev.download(), ref);
    EXPECT_TRUE(support::passes(cmp, spec.dtype)) << gpu_testing::describe(cmp);
  }
}

// Views of rows [first, first + count) of a BSHD problem's q, out and lse (B = 1).
Params rows_of(Params p, std::int64_t first, std::int64_t count, Align align) {
  const auto elem = static_cast<std::int64_t>(size_of(p.q.dtype));
  p.q.data = static_cast<char*>(p.q.data) + first * p.q.strides[1] * elem;
  p.out.data = static_cast<char*>(p.out.data) + first * p.out.strides[1] * elem;
  p.lse.data = static_cast<float*>(p.lse.data) + first * p.lse.strides[2];
  p.q.shape[1] = p.out.shape[1] = p.lse.shape[2] = count;
  p.align = align;
  return p;
}

// Causal 16384 x 16384 does not fit the scores budget: cuda_math runs it in pieces of query
// rows. The same rows as two calls (the second bottom-right aligned, so its rows keep their
// positions) must give the same numbers.
TEST_F(CudaMath, RowChunksAgreeWithSeparateCalls) {
  ProblemSpec spec;
  spec.B = 1, spec.Hq = 1, spec.Hkv = 1, spec.Sq = 16384, spec.Sk = 16384, spec.D = 8;
  spec.causal = true, spec.lse = true;
  const cuda_math::Plan plan = cuda_math::make_plan({1, 1, spec.Sq, spec.Sk, spec.D, spec.D});
  ASSERT_LT(plan.rows, spec.Sq) << "the problem should be cut into row chunks";
  support::HostProblem host(spec);
  support::DeviceProblem dev(host);
  attention(dev.params(), "cuda_math");
  const support::Output whole = dev.download();
  dev.poison_outputs();
  const std::int64_t half = spec.Sq / 2;
  attention(rows_of(dev.params(), 0, half, Align::top_left), "cuda_math");
  attention(rows_of(dev.params(), half, half, Align::bottom_right), "cuda_math");
  const support::Comparison cmp = support::compare(host, dev.download(), whole);
  EXPECT_TRUE(support::passes(cmp, spec.dtype)) << gpu_testing::describe(cmp);
}

// 300 units (2 batches x 150 KV heads, GQA 2) do not fit one chunk; each batch alone is
// chunked differently. Both must agree.
TEST_F(CudaMath, UnitChunksAgreeWithSeparateCalls) {
  ProblemSpec spec;
  spec.B = 2, spec.Hq = 300, spec.Hkv = 150, spec.Sq = 1024, spec.Sk = 1024, spec.D = 16;
  spec.causal = true, spec.align = Align::bottom_right, spec.lse = true;
  const cuda_math::Plan plan = cuda_math::make_plan({300, 2, spec.Sq, spec.Sk, spec.D, spec.D});
  ASSERT_LT(plan.units, 300) << "the problem should be cut into unit chunks";
  support::HostProblem host(spec);
  support::DeviceProblem dev(host);
  attention(dev.params(), "cuda_math");
  const support::Output whole = dev.download();
  dev.poison_outputs();
  for (std::int64_t b = 0; b < spec.B; ++b) {
    Params p = dev.params();
    for (TensorView* t : {&p.q, &p.k, &p.v, &p.out, &p.lse}) {
      t->data = static_cast<char*>(t->data) +
                b * t->strides[0] * static_cast<std::int64_t>(size_of(t->dtype));
      t->shape[0] = 1;
    }
    attention(p, "cuda_math");
  }
  const support::Comparison cmp = support::compare(host, dev.download(), whole);
  EXPECT_TRUE(support::passes(cmp, spec.dtype)) << gpu_testing::describe(cmp);
}

TEST_F(CudaMath, RepeatedRunsAreBitwiseEqual) {
  ProblemSpec spec;
  spec.dtype = DType::bf16;
  spec.B = 2, spec.Hq = 8, spec.Hkv = 2, spec.Sq = 333, spec.Sk = 517, spec.D = 96;
  spec.dropout_p = 0.1, spec.lse = true, spec.mask = support::MaskKind::additive;
  support::HostProblem host(spec);
  support::DeviceProblem dev(host);
  attention(dev.params(), "cuda_math");
  const support::Output first = dev.download();
  dev.poison_outputs();
  attention(dev.params(), "cuda_math");
  const support::Output second = dev.download();
  EXPECT_EQ(first.out, second.out);
  EXPECT_EQ(std::memcmp(first.lse.data(), second.lse.data(), first.lse.size() * sizeof(float)), 0);
}

}  // namespace
}  // namespace attend
