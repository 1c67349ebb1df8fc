// The online softmax on one warpgroup's score accumulator. Each thread holds two rows (g and
// g + 8 of its warp's 16) and, per 8-key block nb, the keys nb·8 + 2·(lane % 4) + {0, 1}:
// s[nb·4 + 2·half + e]. Row statistics live in log2 units; a thread keeps its partial row sums
// and the four lanes of a row combine them once, at the end.
#pragma once

#include <cmath>
#include <cstdint>

#include "backends/flash/band.cuh"
#include "backends/flash/params.hpp"
#include "backends/flash/primitives.cuh"

namespace attend::flash3 {

using flash::fast_exp2;
using flash::quad_max;
using flash::quad_sum;

struct RowState {
  float max[2];   // running max, scaled (log2 units)
  float sum[2];   // this thread's share of the running sum
  float corr[2];  // factor for what was accumulated before the last step
  bool rescale;   // some row of this thread changed its max in the last step

  __device__ __forceinline__ void reset() {
    max[0] = max[1] = -INFINITY;
    sum[0] = sum[1] = 0.f;
    rescale = false;
  }
};

// Masks keys outside each row's band. Rows: row0 (half 0) and row0 + 8; keys from n0.
template <int kN>
__device__ __forceinline__ void mask_scores(float (&s)[kN / 2], const flash::Band& band, int row0,
                                            int n0, int lane) {
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int lo = band.lo(row0 + 8 * half), hi = band.hi(row0 + 8 * half);
#pragma unroll
    for (int nb = 0; nb < kN / 8; ++nb)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int j = n0 + nb * 8 + (lane & 3) * 2 + e;
        if (j < lo || j >= hi) s[nb * 4 + half * 2 + e] = -INFINITY;
      }
  }
}

// The general path's score transform: scale first, then softcap (in log2 units). Runs before
// the masks, so masked keys stay -inf whatever the sign of the scale.
template <int kN>
__device__ __forceinline__ void transform_scores(float (&s)[kN / 2], const flash::FlashParams& p) {
  const bool softcap = p.softcap_log2 > 0.f;
#pragma unroll
  for (int i = 0; i < kN / 2; ++i) {
    const float x = s[i] * p.score_scale;
    s[i] = softcap ? p.softcap_log2 * flash::fast_tanh(x) : x;
  }
}

// m[0] = max(m[0 .. 2·kWidth)), halving the width per level (kWidth a power of two).
template <int kWidth, int kSize>
__device__ __forceinline__ void max_tree(float (&m)[kSize]) {
#pragma unroll
  for (int j = 0; j < kWidth; ++j) m[j] = fmaxf(m[j], m[j + kWidth]);
  if constexpr (kWidth > 1) max_tree<kWidth / 2>(m);
}

// One step with a positive scale per row (scale[half] multiplies the scores of row g + 8·half):
// scores (masked keys -inf) become unnormalised weights in place, 2^kWeightLog2 times
// exp2(scale·s − max) (the quantized kernels lift them clear of fp8's subnormals; the sum
// carries the same factor, so normalising cancels it); the row max, sum and correction factor
// advance. Without kSums the caller keeps the sums (sage_fp8 adds its weights on the tensor
// cores).
template <int kN, int kWeightLog2 = 0, bool kSums = true>
__device__ __forceinline__ void softmax_step_rows(float (&s)[kN / 2], RowState& st,
                                                  const float (&scale)[2]) {
  st.rescale = false;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    // The row's max as a tree (depth log2 of the keys, not a chain through all of them).
    float m[kN / 8];
#pragma unroll
    for (int nb = 0; nb < kN / 8; ++nb)
      m[nb] = fmaxf(s[nb * 4 + half * 2], s[nb * 4 + half * 2 + 1]);
    max_tree<kN / 16>(m);
    const float mx = fmaxf(st.max[half], quad_max(m[0]) * scale[half]);
    const float base = mx == -INFINITY ? 0.f : mx;  // nothing visible yet: weights stay 0
    st.corr[half] = fast_exp2(st.max[half] - base);
    st.rescale |= mx != st.max[half];
    st.max[half] = mx;
    const float shift = base - static_cast<float>(kWeightLog2);
    float sum = 0.f;
#pragma unroll
    for (int nb = 0; nb < kN / 8; ++nb)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        float& x = s[nb * 4 + half * 2 + e];
        x = fast_exp2(fmaf(x, scale[half], -shift));
        if (kSums) sum += x;
      }
    if (kSums) st.sum[half] = st.sum[half] * st.corr[half] + sum;
  }
}

// One step: kGeneral, the scores went through transform_scores; otherwise they are raw q·k and
// the positive scale folds into the exponent's FMA.
template <int kN, bool kGeneral>
__device__ __forceinline__ void softmax_step(float (&s)[kN / 2], RowState& st,
                                             const flash::FlashParams& p) {
  const float scale = kGeneral ? 1.f : p.score_scale;
  softmax_step_rows<kN>(s, st, {scale, scale});
}

// O *= corr row by row, skipped when no row of the warp changed its max (the factor is 1).
template <int kD>
__device__ __forceinline__ void rescale_output(float (&o)[kD / 2], const RowState& st) {
  if (!__any_sync(0xffffffffu, st.rescale)) return;
#pragma unroll
  for (int i = 0; i < kD / 2; ++i) o[i] *= st.corr[(i / 2) % 2];
}

// The weights as the register A operand of O += P V: k-step kk takes key blocks 2kk, 2kk + 1.
template <class T, int kN>
__device__ __forceinline__ void weights_to_operand(const float (&s)[kN / 2],
                                                   std::uint32_t (&a)[kN / 4]) {
#pragma unroll
  for (int kk = 0; kk < kN / 16; ++kk) {
    a[kk * 4 + 0] = flash::pack2<T>(s[kk * 8 + 0], s[kk * 8 + 1]);
    a[kk * 4 + 1] = flash::pack2<T>(s[kk * 8 + 2], s[kk * 8 + 3]);
    a[kk * 4 + 2] = flash::pack2<T>(s[kk * 8 + 4], s[kk * 8 + 5]);
    a[kk * 4 + 3] = flash::pack2<T>(s[kk * 8 + 6], s[kk * 8 + 7]);
  }
}

}  // namespace attend::flash3
