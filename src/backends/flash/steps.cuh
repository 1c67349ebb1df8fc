// The steps that the mma.sync kernels (flash, sage) share: copying a tile into swizzled shared
// memory, and on scores and outputs held in registers in the MMA fragment layout, masking
// outside the visibility band, the online-softmax update, O += P·V, and the copy of a staged
// output tile to global memory.
#pragma once

#include <cmath>
#include <cstdint>

#include "backends/flash/band.cuh"
#include "backends/flash/params.hpp"
#include "backends/flash/primitives.cuh"
#include "backends/flash/sequence.cuh"

namespace attend::flash {

// What one block needs to know about its query tile (m_block of sequence b): where the
// sequence's queries and keys start and how many there are, the tile's rows, the visibility
// band, the key tiles of kN keys any of its rows sees, and the keys every row sees whole (tiles
// inside them skip masking). m0 >= q_len: the tile lies past the sequence.
struct QueryTile : Sequence {
  int m0, rows;
  Band band;
  int tile_begin, tile_end;
  int full_lo, full_hi;
};

template <int kM, int kN>
__device__ __forceinline__ QueryTile query_tile(const FlashParams& p, int b, int m_block) {
  QueryTile t;
  static_cast<Sequence&>(t) = sequence_of(p, b);
  t.m0 = m_block * kM;
  t.rows = min(kM, t.q_len - t.m0);
  t.band = Band{p.bottom_right ? static_cast<long long>(t.k_len) - t.q_len : 0LL, p.window_left,
                p.window_right, t.k_len};
  const int first_row = t.m0, last_row = t.m0 + t.rows - 1;
  const int n_lo = t.band.lo(first_row), n_hi = t.band.hi(last_row);
  t.tile_begin = n_lo / kN;
  t.tile_end = n_hi > n_lo ? (n_hi + kN - 1) / kN : t.tile_begin;
  t.full_lo = t.band.lo(last_row);
  t.full_hi = t.band.hi(first_row);
  return t;
}

// Copies kRows rows of a row-major tile (head dim contiguous) into swizzled shared memory.
// Rows at or past `valid_rows` and columns at or past `dim` are zero-filled. Offsets within a
// tile are 32-bit (the backend bounds row strides): 64-bit ones, hoisted out of the key loop by
// the compiler, cost enough registers to spill the accumulators.
template <class T, int kRows, int kD, int kThreads>
__device__ __forceinline__ void load_tile(T* tile, const T* src, int row_stride, int valid_rows,
                                          int dim) {
  constexpr int kChunks = kD / 8;
  constexpr int kTotal = kRows * kChunks;
  if constexpr (kThreads % kChunks == 0 && (kThreads / kChunks) % 8 == 0 &&
                kTotal % kThreads == 0) {
    // Each thread copies one column chunk every kStep rows: the swizzle repeats every 8 rows,
    // so its shared-memory addresses are one base plus constants.
    constexpr int kStep = kThreads / kChunks;
    const int r0 = static_cast<int>(threadIdx.x) / kChunks,
              c = static_cast<int>(threadIdx.x) % kChunks;
    const T* from = src + r0 * row_stride + c * 8;
    const std::uint32_t to = smem_address(tile + swizzle<kChunks>(r0, c) * 8);
    const bool col_ok = c * 8 < dim;
#pragma unroll
    for (int it = 0; it < kRows / kStep; ++it) {
      const bool ok = col_ok && r0 + it * kStep < valid_rows;
      cp_async_16(to + it * kStep * kChunks * 16, ok ? from + it * kStep * row_stride : src, ok);
    }
  } else {
#pragma unroll
    for (int it = 0; it < (kTotal + kThreads - 1) / kThreads; ++it) {
      const int idx = static_cast<int>(threadIdx.x) + it * kThreads;
      if (kTotal % kThreads == 0 || idx < kTotal) {
        const int r = idx / kChunks, c = idx % kChunks;
        const bool ok = r < valid_rows && c * 8 < dim;
        cp_async_16(smem_address(tile + swizzle<kChunks>(r, c) * 8),
                    ok ? src + r * row_stride + c * 8 : src, ok);
      }
    }
  }
}

// Sets the scores of keys outside each row's band to -inf. `row_of(mt, hf)` is the sequence row
// held in accumulator half hf (0: the lane's row g, 1: row g + 8) of MMA tile mt; n0 is the
// tile's first key.
template <int kMT, int kNT, class RowOf>
__device__ __forceinline__ void mask_outside_band(float (&s)[kMT][kNT][4], const Band& band,
                                                  RowOf row_of, int n0, int lane) {
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int i = row_of(mt, hf);
      const int lo = band.lo(i), hi = band.hi(i);
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int j = n0 + nt * 8 + (lane & 3) * 2 + e;
          if (j < lo || j >= hi) s[mt][nt][hf * 2 + e] = -INFINITY;
        }
    }
}

// Online softmax over one tile. The scores in log2 units are s·scale[mt][hf] (scale > 0), so
// the running max is taken on s and the scale folds into one FMA with the exponent. Updates
// row_max (log2 units) and row_sum, rescales o, and leaves the unnormalised weights in s; a
// warp whose rows all kept their max skips the rescale.
template <int kMT, int kNT, int kDT>
__device__ __forceinline__ void online_softmax(float (&s)[kMT][kNT][4], float (&row_max)[kMT][2],
                                               float (&row_sum)[kMT][2], float (&o)[kMT][kDT][4],
                                               const float (&scale)[kMT][2]) {
  float correction[kMT][2];
  bool rescale = false;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt)
        mx = fmaxf(mx, fmaxf(s[mt][nt][hf * 2], s[mt][nt][hf * 2 + 1]));
      mx = fmaxf(row_max[mt][hf], quad_max(mx) * scale[mt][hf]);
      const float base = mx == -INFINITY ? 0.f : mx;  // a row with nothing visible yet stays 0
      correction[mt][hf] = fast_exp2(row_max[mt][hf] - base);
      rescale |= mx != row_max[mt][hf];
      row_max[mt][hf] = mx;
      float sum = row_sum[mt][hf] * correction[mt][hf];
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float w = fast_exp2(fmaf(s[mt][nt][hf * 2 + e], scale[mt][hf], -base));
          sum += w;
          s[mt][nt][hf * 2 + e] = w;
        }
      row_sum[mt][hf] = sum;
    }
  if (__any_sync(0xffffffffu, rescale)) {
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int dt = 0; dt < kDT; ++dt)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[mt][dt][e] *= correction[mt][e / 2];
  }
}

// O += P·V with P (dtype T) from the weights in s: the S accumulators of keys 16kk..16kk+15 are
// the A fragment of step kk, and V (kNT·8 keys, row-major in swizzled shared memory) is read
// transposed by ldmatrix.
template <class T, int kMT, int kNT, int kDT, int kChunks>
__device__ __forceinline__ void accumulate_pv(float (&o)[kMT][kDT][4],
                                              const float (&s)[kMT][kNT][4],
                                              const SwizzledRows<kChunks>& v_rows) {
#pragma unroll
  for (int kk = 0; kk < kNT / 2; ++kk) {
    std::uint32_t a[kMT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      a[mt][0] = pack2<T>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
      a[mt][1] = pack2<T>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
      a[mt][2] = pack2<T>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
      a[mt][3] = pack2<T>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
    }
#pragma unroll
    for (int dp = 0; dp < kDT / 2; ++dp) {
      std::uint32_t bv[4];
      ldmatrix_x4_trans(bv, v_rows.at(kk * 16, dp));
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        mma_16816<T>(o[mt][2 * dp], a[mt], bv[0], bv[1]);
        mma_16816<T>(o[mt][2 * dp + 1], a[mt], bv[2], bv[3]);
      }
    }
  }
}

// Copies the first `rows` rows (and `dim` columns) of a staged kM x kD output tile, swizzled in
// shared memory, to global rows `row_stride` elements apart.
template <class T, int kM, int kD, int kThreads>
__device__ __forceinline__ void store_tile(T* dst, int row_stride, const T* tile, int rows,
                                           int dim) {
  constexpr int kChunks = kD / 8;
#pragma unroll
  for (int it = 0; it < (kM * kChunks + kThreads - 1) / kThreads; ++it) {
    const int idx = static_cast<int>(threadIdx.x) + it * kThreads;
    const int r = idx / kChunks, c = idx % kChunks;
    if (r < rows && c * 8 < dim) {
      *reinterpret_cast<uint4*>(dst + r * row_stride + c * 8) =
          *reinterpret_cast<const uint4*>(tile + swizzle<kChunks>(r, c) * 8);
    }
  }
}

}  // namespace attend::flash
