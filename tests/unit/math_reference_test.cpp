// The oracle itself, checked against cases whose answers are known in closed form, and against
// itself across layouts (the same numbers stored differently must give the same result).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "attend/attend.hpp"
#include "common/philox.hpp"
#include "support/host_problem.hpp"

namespace attend {
namespace {

struct Dense {
  std::int64_t B, H, Sq, Sk, D;
  std::vector<float> q, k, v, out, lse;
  Dense(std::int64_t b, std::int64_t h, std::int64_t sq, std::int64_t sk, std::int64_t d)
      : B(b),
        H(h),
        Sq(sq),
        Sk(sk),
        D(d),
        q(b * sq * h * d),
        k(b * sk * h * d),
        v(b * sk * h * d),
        out(b * sq * h * d, std::nanf("")),
        lse(b * h * sq, std::nanf("")) {
    for (std::size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.7 * i);
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = std::cos(0.3 * i);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(1.1 * i + 0.5);
  }
  Params params() {
    Params p;
    p.q = view(q.data(), f32, cpu, {B, Sq, H, D});
    p.k = view(k.data(), f32, cpu, {B, Sk, H, D});
    p.v = view(v.data(), f32, cpu, {B, Sk, H, D});
    p.out = view(out.data(), f32, cpu, {B, Sq, H, D});
    p.lse = view(lse.data(), f32, cpu, {B, H, Sq});
    return p;
  }
  float o(std::int64_t b, std::int64_t s, std::int64_t h, std::int64_t d) const {
    return out[((b * Sq + s) * H + h) * D + d];
  }
  float vv(std::int64_t b, std::int64_t s, std::int64_t h, std::int64_t d) const {
    return v[((b * Sk + s) * H + h) * D + d];
  }
};

TEST(MathReference, SingleKeyCopiesV) {
  Dense t(2, 3, 4, 1, 8);
  attention(t.params(), "math");
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t s = 0; s < 4; ++s)
      for (std::int64_t h = 0; h < 3; ++h)
        for (std::int64_t d = 0; d < 8; ++d) EXPECT_FLOAT_EQ(t.o(b, s, h, d), t.vv(b, 0, h, d));
}

TEST(MathReference, ZeroScaleAveragesVisibleKeys) {
  Dense t(1, 1, 5, 5, 4);
  Params p = t.params();
  p.scale = 0.0;
  p.is_causal = true;
  attention(p, "math");
  for (std::int64_t i = 0; i < 5; ++i) {
    for (std::int64_t d = 0; d < 4; ++d) {
      double mean = 0;
      for (std::int64_t j = 0; j <= i; ++j) mean += t.vv(0, j, 0, d);
      EXPECT_NEAR(t.o(0, i, 0, d), mean / (i + 1), 1e-6);
    }
    EXPECT_NEAR(t.lse[i], std::log(static_cast<double>(i + 1)), 1e-6);
  }
}

TEST(MathReference, BottomRightCausalWithMoreQueriesThanKeysMasksLeadingRows) {
  Dense t(1, 1, 6, 3, 4);
  Params p = t.params();
  p.is_causal = true;
  p.align = Align::bottom_right;  // query i sees keys j <= i - 3
  attention(p, "math");
  for (std::int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(t.lse[i], -std::numeric_limits<float>::infinity());
    for (std::int64_t d = 0; d < 4; ++d) EXPECT_EQ(t.o(0, i, 0, d), 0.0f);
  }
  for (std::int64_t d = 0; d < 4; ++d) EXPECT_FLOAT_EQ(t.o(0, 3, 0, d), t.vv(0, 0, 0, d));
  EXPECT_TRUE(std::isfinite(t.lse[5]));
}

TEST(MathReference, SoftmaxMatchesClosedFormForTwoKeys) {
  Dense t(1, 1, 1, 2, 2);
  t.q = {1.0f, 2.0f};
  t.k = {0.5f, -1.0f, 2.0f, 0.25f};
  t.v = {1.0f, 0.0f, 0.0f, 1.0f};
  Params p = t.params();
  p.scale = 0.5;
  p.softcap = 3.0;
  attention(p, "math");
  const double s0 = 3.0 * std::tanh(0.5 * (0.5 - 2.0) / 3.0);
  const double s1 = 3.0 * std::tanh(0.5 * (2.0 + 0.5) / 3.0);
  const double w1 = 1.0 / (1.0 + std::exp(s0 - s1));
  EXPECT_NEAR(t.out[0], 1.0 - w1, 1e-6);
  EXPECT_NEAR(t.out[1], w1, 1e-6);
  EXPECT_NEAR(t.lse[0], std::log(std::exp(s0) + std::exp(s1)), 1e-6);
}

TEST(MathReference, LayoutsAndStridesDoNotChangeTheResult) {
  support::ProblemSpec base;
  base.B = 2, base.Hq = 4, base.Hkv = 2, base.Sq = 9, base.Sk = 13, base.D = 12, base.Dv = 5;
  base.causal = true;
  base.lse = true;
  support::HostProblem ref(base);
  support::Output ro = ref.make_output();
  attention(ref.params(ro), "math");
  for (Layout layout : {Layout::BHSD}) {
    for (bool strided : {false, true}) {
      support::ProblemSpec s = base;
      s.layout = layout;
      s.strided = strided;
      support::HostProblem p(s);  // same seed: same values, stored differently
      support::Output o = p.make_output();
      attention(p.params(o), "math");
      // Compare logically: BHSD output vs BSHD output.
      const auto* a = reinterpret_cast<const float*>(o.out.data());
      const auto* r = reinterpret_cast<const float*>(ro.out.data());
      for (std::int64_t b = 0; b < 2; ++b)
        for (std::int64_t h = 0; h < 4; ++h)
          for (std::int64_t i = 0; i < 9; ++i)
            for (std::int64_t d = 0; d < 5; ++d) {
              const float got = a[((b * 4 + h) * 9 + i) * 5 + d];
              const float want = r[((b * 9 + i) * 4 + h) * 5 + d];
              ASSERT_EQ(got, want) << "b" << b << " h" << h << " i" << i << " d" << d;
            }
      EXPECT_EQ(o.lse, ro.lse);
    }
  }
}

TEST(MathReference, VarlenEqualsSeparateProblems) {
  support::ProblemSpec v;
  v.Hq = 2, v.Hkv = 1, v.D = 8;
  v.seqlens_q = {3, 0, 5, 4};
  v.seqlens_k = {4, 2, 0, 6};
  v.causal = true;
  v.align = Align::bottom_right;
  v.lse = true;
  support::HostProblem packed(v);
  support::Output o = packed.make_output();
  const Params pp = packed.params(o);
  attention(pp, "math");
  // Each sequence again as its own dense problem over the same rows of the packed tensors.
  const auto* cu_q = static_cast<const std::int32_t*>(pp.cu_seqlens_q.data);
  const auto* cu_k = static_cast<const std::int32_t*>(pp.cu_seqlens_k.data);
  for (std::size_t b = 0; b < v.seqlens_q.size(); ++b) {
    const std::int64_t sq = v.seqlens_q[b], sk = v.seqlens_k[b];
    std::vector<float> out(static_cast<std::size_t>(sq * 2 * 8)),
        lse(static_cast<std::size_t>(2 * sq));
    Params d;
    auto rows = [](const TensorView& t, std::int64_t start, std::int64_t n) {
      TensorView r = t;
      r.data = static_cast<float*>(t.data) + start * t.strides[0];
      return view(r.data, f32, cpu, {1, n, t.shape[1], t.shape[2]},
                  {0, t.strides[0], t.strides[1], t.strides[2]});
    };
    d.q = rows(pp.q, cu_q[b], sq);
    d.k = rows(pp.k, cu_k[b], sk);
    d.v = rows(pp.v, cu_k[b], sk);
    d.out = view(out.data(), f32, cpu, {1, sq, 2, 8});
    d.lse = view(lse.data(), f32, cpu, {1, 2, sq});
    d.is_causal = true;
    d.align = Align::bottom_right;
    d.enable_gqa = true;
    attention(d, "math");
    const auto* packed_out = reinterpret_cast<const float*>(o.out.data());
    for (std::int64_t i = 0; i < sq * 16; ++i)
      ASSERT_EQ(packed_out[cu_q[b] * 16 + i], out[i]) << "sequence " << b;
    for (std::int64_t h = 0; h < 2; ++h)
      for (std::int64_t i = 0; i < sq; ++i)
        ASSERT_EQ(o.lse[h * packed.q_rows() + cu_q[b] + i], lse[h * sq + i]);
  }
}

TEST(MathReference, HugeWindowIsUnbounded) {
  support::ProblemSpec s;
  s.Sq = 9, s.Sk = 13, s.D = 8;
  support::HostProblem p(s);
  support::Output a = p.make_output(), b = p.make_output();
  attention(p.params(a), "math");
  Params w = p.params(b);
  w.window = {std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::max()};
  attention(w, "math");
  EXPECT_EQ(a.out, b.out);
}

TEST(MathReference, DropoutKeepsAboutOneMinusPAndIsReproducible) {
  support::ProblemSpec s;
  s.Sq = 64, s.Sk = 64, s.D = 8, s.Hq = s.Hkv = 2;
  s.dropout_p = 0.25;
  support::HostProblem p(s);
  support::Output a = p.make_output(), b = p.make_output();
  attention(p.params(a), "math");
  attention(p.params(b), "math");
  EXPECT_EQ(a.out, b.out) << "same seed and offset, same result";
  support::Output c = p.make_output();
  Params other = p.params(c);
  other.dropout_offset += 1;
  attention(other, "math");
  EXPECT_NE(a.out, c.out);

  // The draws: the kept fraction is 1 - p within 5 standard deviations.
  const Params prm = p.params(a);
  std::int64_t kept = 0, total = 0;
  for (std::int64_t h = 0; h < 2; ++h)
    for (std::int64_t i = 0; i < 64; ++i)
      for (std::int64_t j = 0; j < 64; ++j, ++total) {
        kept += common::dropout_keep(prm.dropout_seed, prm.dropout_offset, 0, h, i, j, 0.25f);
      }
  const double sd = std::sqrt(total * 0.25 * 0.75);
  EXPECT_NEAR(static_cast<double>(kept), 0.75 * total, 5 * sd);

  // The scaling: with V = 1 and uniform weights, each output is (kept in the row) / (Sk (1-p)).
  std::vector<float> q(64 * 8, 0.0f), k(64 * 8, 0.0f), v(64 * 8, 1.0f), out(64 * 8);
  Params u;
  u.q = view(q.data(), f32, cpu, {1, 64, 1, 8});
  u.k = view(k.data(), f32, cpu, {1, 64, 1, 8});
  u.v = view(v.data(), f32, cpu, {1, 64, 1, 8});
  u.out = view(out.data(), f32, cpu, {1, 64, 1, 8});
  u.dropout_p = 0.25;
  u.dropout_seed = 99;
  attention(u, "math");
  for (std::int64_t i = 0; i < 64; ++i) {
    int row_kept = 0;
    for (std::int64_t j = 0; j < 64; ++j)
      row_kept += common::dropout_keep(99, 0, 0, 0, i, j, 0.25f);
    EXPECT_NEAR(out[i * 8], row_kept / (64 * 0.75), 1e-6) << "row " << i;
  }
}

}  // namespace
}  // namespace attend
