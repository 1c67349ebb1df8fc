// Register-blocked GEMM micro-kernels of the two attention products. In the transposed layout
// both have one shape: an R x C block of lane vectors (R rows, C vectors of queries) accumulates
// a(r, k) broadcast times row k of a packed panel b, over the depth k:
//   scores:  S[j][i]   = sum_d  K[j][d]  * Qt[d][i]    a(r, k) = K row j0+r, column k
//   values:  Ot[dv][i] += sum_j V[j][dv] * P[j][i]     a(r, k) = V row k, column dv0+r
// A `Dot` policy says what one step multiplies: fp32 FMAs, or bf16 pairs (two depth steps per
// operand, fp32 accumulation).
#pragma once

#include <cstdint>

#ifndef ATTEND_CPU_FLASH_ISA
#error "include a simd_*.hpp first"
#endif

namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA {

using F = Simd::F;
constexpr int kLanes = Simd::kLanes;

struct Fp32Dot {
  static constexpr int kDepthPerStep = 1;
  using Operand = float;
  using Vec = F;
  static F broadcast(const float* p) noexcept { return Simd::set1(*p); }
  static F load(const float* p) noexcept { return Simd::load(p); }
  static F madd(F acc, F a, F b) noexcept { return Simd::fma(a, b, acc); }
};

#if defined(ATTEND_CPU_FLASH_BF16_DOT)
static_assert(Simd::kBf16Dot, "the bf16 dot needs an ISA that has it");
struct Bf16Dot {
  static constexpr int kDepthPerStep = 2;
  using Operand = std::uint32_t;  // a pair of bf16 along the depth
  using Vec = Simd::I;
  static Vec broadcast(const std::uint32_t* p) noexcept { return Simd::broadcast_pair(p); }
  static Vec load(const std::uint32_t* p) noexcept { return Simd::load_pairs(p); }
  static F madd(F acc, Vec a, Vec b) noexcept { return Simd::dot_pairs(acc, b, a); }
};
#endif

// Calls fn.template operator()<N>() with N == n, for n in [1, Max]: remainders of a loop get
// kernels of their exact size.
template <int Max, class Fn>
[[gnu::always_inline]] inline void with_count(int n, Fn&& fn) {
  if constexpr (Max >= 1) {
    if (n == Max) {
      fn.template operator()<Max>();
    } else {
      with_count<Max - 1>(n, fn);
    }
  }
}

template <class Dot, int R, int C>
[[gnu::always_inline]] inline void accumulate(const typename Dot::Operand* a, std::int64_t a_rs,
                                              std::int64_t a_ks, const typename Dot::Operand* b,
                                              std::int64_t ldb, std::int64_t depth,
                                              F (&acc)[R][C]) noexcept {
  for (std::int64_t k = 0; k < depth; ++k) {
    const typename Dot::Operand* bk = b + k * ldb;
    const typename Dot::Operand* ak = a + k * a_ks;
    typename Dot::Vec bv[C];
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) bv[c] = Dot::load(bk + c * kLanes);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const typename Dot::Vec av = Dot::broadcast(ak + r * a_rs);
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) acc[r][c] = Dot::madd(acc[r][c], av, bv[c]);
    }
  }
}

// out[r][c] = factor * sum_k a(r, k) b[k][c], a(r, k) = a[r * lda + k].
template <class Dot, int R, int C>
void score_block(const typename Dot::Operand* a, std::int64_t lda, const typename Dot::Operand* b,
                 std::int64_t ldb, std::int64_t depth, float factor, float* out,
                 std::int64_t ldo) noexcept {
  F acc[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) acc[r][c] = Simd::zero();
  }
  accumulate<Dot, R, C>(a, lda, 1, b, ldb, depth, acc);
  const F f = Simd::set1(factor);
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) Simd::store(out + r * ldo + c * kLanes, Simd::mul(acc[r][c], f));
  }
}

// out[r][c] = (first ? 0 : out[r][c] * alpha[c]) + sum_k a(r, k) b[k][c], a(r, k) = a[k * lda + r].
template <class Dot, int R, int C>
void value_block(const typename Dot::Operand* a, std::int64_t lda, const typename Dot::Operand* b,
                 std::int64_t ldb, std::int64_t depth, const float* alpha, bool first, float* out,
                 std::int64_t ldo) noexcept {
  F acc[R][C];
  if (first) {
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) acc[r][c] = Simd::zero();
    }
  } else {
    for (int c = 0; c < C; ++c) {
      const F scale = Simd::load(alpha + c * kLanes);
      for (int r = 0; r < R; ++r)
        acc[r][c] = Simd::mul(Simd::load(out + r * ldo + c * kLanes), scale);
    }
  }
  accumulate<Dot, R, C>(a, 1, lda, b, ldb, depth, acc);
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) Simd::store(out + r * ldo + c * kLanes, acc[r][c]);
  }
}

// Keys [begin, end) of a kv tile that some query of a group of lanes may see.
struct KeySpan {
  int begin, end;
};

// S[j][i] = factor * q_i . k_j for the first n_vecs lane vectors of queries and, for each group
// of lane vectors [c0, c0 + nc), the keys j in span(c0, nc) only: the band masking later
// overwrites the other keys of those lanes, whatever S holds there.
template <class Dot, class Shape, class Span>
void score_tile(const typename Dot::Operand* k, std::int64_t ldk, const typename Dot::Operand* qt,
                std::int64_t ldq, std::int64_t depth, int n_vecs, float factor, float* s,
                std::int64_t lds, Span span) noexcept {
  for (int c0 = 0; c0 < n_vecs; c0 += Shape::kScoreCols) {
    const int nc = n_vecs - c0 < Shape::kScoreCols ? n_vecs - c0 : Shape::kScoreCols;
    const KeySpan keys = span(c0, nc);
    with_count<Shape::kScoreCols>(nc, [&]<int C>() {
      for (int r0 = keys.begin; r0 < keys.end; r0 += Shape::kScoreRows) {
        const int nr = keys.end - r0 < Shape::kScoreRows ? keys.end - r0 : Shape::kScoreRows;
        with_count<Shape::kScoreRows>(nr, [&]<int R>() {
          score_block<Dot, R, C>(k + r0 * ldk, ldk, qt + c0 * kLanes, ldq, depth, factor,
                                 s + r0 * lds + c0 * kLanes, lds);
        });
      }
    });
  }
}

// Ot[dv][i] = alpha[i] * Ot[dv][i] + sum_j V[j][dv] P[j][i] (Ot = 0 before when `first`).
// v and p have one row per depth step (a key, or a pair of keys); the sum runs over the keys
// span(c0, nc) of each group of lane vectors, whose weights outside it are 0.
template <class Dot, class Shape, class Span>
void value_tile(const typename Dot::Operand* v, std::int64_t ldv, const typename Dot::Operand* p,
                std::int64_t ldp, std::int64_t dv, int n_vecs, const float* alpha, bool first,
                float* ot, std::int64_t ldo, Span span) noexcept {
  constexpr int kStep = Dot::kDepthPerStep;
  for (int c0 = 0; c0 < n_vecs; c0 += Shape::kValueCols) {
    const int nc = n_vecs - c0 < Shape::kValueCols ? n_vecs - c0 : Shape::kValueCols;
    const KeySpan keys = span(c0, nc);
    const int step0 = keys.begin / kStep;
    const int steps = keys.end > keys.begin ? (keys.end + kStep - 1) / kStep - step0 : 0;
    with_count<Shape::kValueCols>(nc, [&]<int C>() {
      for (std::int64_t r0 = 0; r0 < dv; r0 += Shape::kValueRows) {
        const int nr = static_cast<int>(dv - r0 < Shape::kValueRows ? dv - r0 : Shape::kValueRows);
        with_count<Shape::kValueRows>(nr, [&]<int R>() {
          value_block<Dot, R, C>(v + step0 * ldv + r0, ldv, p + step0 * ldp + c0 * kLanes, ldp,
                                 steps, alpha + c0 * kLanes, first, ot + r0 * ldo + c0 * kLanes,
                                 ldo);
        });
      }
    });
  }
}

}  // namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA
