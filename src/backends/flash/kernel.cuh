// The flash forward kernel: one block per (query tile, head, batch[, KV split]). Q stays in
// shared memory for the whole block; K and V tiles stream through one buffer each, the load of
// V_t overlapping QK^T_t and the load of K_t+1 overlapping P·V_t. Scores and the output
// accumulate in registers in the MMA fragment layout, and the S fragments become the A operand
// of P·V without touching shared memory. Only tiles that cross the visibility band or the end
// of the keys pay for per-element masking.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "backends/flash/band.cuh"
#include "backends/flash/params.hpp"
#include "backends/flash/primitives.cuh"
#include "backends/flash/steps.cuh"
#include "backends/flash/tile_config.hpp"
#include "common/philox.hpp"
#include "cuda/elements.cuh"

namespace attend::flash {

// One mask element as an additive term: bool false is -inf, other dtypes their value.
template <class M>
__device__ __forceinline__ float mask_value(M x) {
  if constexpr (std::is_same_v<M, std::uint8_t>) {
    return x != 0 ? 0.f : -INFINITY;
  } else {
    return cuda::to_float(x);
  }
}

// Adds mask `m` (element type M, log2 units) to this warp's scores of key tile n0. Indices are
// clamped into the sequence and the terms of rows and keys past it dropped (the band masks
// them), so the loads need no branches.
template <class M, int kMT, int kNT>
__device__ __forceinline__ void add_mask(float (&s)[kMT][kNT][4], const MaskRef& m, int b, int h,
                                         int row0, int n0, int q_len, int k_len, int lane) {
  constexpr float kLog2e = 1.4426950408889634f;
  const M* base = static_cast<const M*>(m.data) + b * m.sb + h * m.sh;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const int i = row0 + mt * 16 + lane / 4 + hf * 8;
      const M* row = base + min(i, q_len - 1) * m.sq;
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int j = n0 + nt * 8 + (lane & 3) * 2 + e;
          const float t = mask_value(row[min(j, k_len - 1) * m.sk]);
          s[mt][nt][hf * 2 + e] += i < q_len && j < k_len ? t * kLog2e : 0.f;
        }
    }
}

// attn_mask and key padding into this warp's scores; the dtype is chosen once per tile.
template <int kMT, int kNT>
__device__ __forceinline__ void add_mask_terms(float (&s)[kMT][kNT][4], const FlashParams& p, int b,
                                               int h, int row0, int n0, int q_len, int k_len,
                                               int lane) {
  if (p.key_padding.data != nullptr) {
    add_mask<std::uint8_t>(s, p.key_padding, b, h, row0, n0, q_len, k_len, lane);
  }
  const MaskRef& m = p.mask;
  if (m.data == nullptr) return;
  switch (m.dtype) {
    case DType::boolean:
      return add_mask<std::uint8_t>(s, m, b, h, row0, n0, q_len, k_len, lane);
    case DType::f32:
      return add_mask<float>(s, m, b, h, row0, n0, q_len, k_len, lane);
    case DType::f16:
      return add_mask<__half>(s, m, b, h, row0, n0, q_len, k_len, lane);
    case DType::bf16:
      return add_mask<__nv_bfloat16>(s, m, b, h, row0, n0, q_len, k_len, lane);
    case DType::f64:
      return add_mask<double>(s, m, b, h, row0, n0, q_len, k_len, lane);
    default:
      return;
  }
}

// C: the tile shape (TileConfig<kD> unless a tuning build tries another). kMasks: attn_mask
// and key padding are added to the scores (needs kFeatures, the general softmax; no dropout).
template <class T, int kD, bool kFeatures, class C = TileConfig<kD>, bool kMasks = false>
__global__ void __launch_bounds__(C::kThreads, C::kMinBlocks)
    flash_fwd_kernel(const __grid_constant__ FlashParams p) {
  constexpr int kM = C::kBlockM, kN = C::kBlockN, kMT = C::kMTiles, kThreads = C::kThreads;
  constexpr int kChunks = kD / 8;  // 16-byte chunks per row
  constexpr int kNT = kN / 8;      // 8-key MMA tiles of S
  constexpr int kDT = kD / 8;      // 8-column MMA tiles of O
  constexpr float kNegInf = -INFINITY;

  extern __shared__ __align__(128) unsigned char smem[];
  T* sQ = reinterpret_cast<T*>(smem);
  T* sK = sQ + kM * kD;
  T* sV = sK + kN * kD;

  // Heavier (later, for causal) row tiles first.
  const int m_block = static_cast<int>(gridDim.x - 1 - blockIdx.x);
  const int h = static_cast<int>(blockIdx.y) % p.Hq;
  const int split = static_cast<int>(blockIdx.y) / p.Hq;
  const int b = static_cast<int>(blockIdx.z);
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int warp_row0 = static_cast<int>(threadIdx.x) / 32 * 16 * kMT;

  const QueryTile tile = query_tile<kM, kN>(p, b, m_block);
  if (tile.m0 >= tile.q_len) return;
  const int q_start = tile.q_start, q_len = tile.q_len, k_start = tile.k_start, k_len = tile.k_len,
            m0 = tile.m0, rows = tile.rows;
  const Band band = tile.band;
  const int full_lo = tile.full_lo, full_hi = tile.full_hi;
  // This split's share of the key tiles.
  int tile_begin = tile.tile_begin, tile_end = tile.tile_end;
  if (p.num_splits > 1) {
    const int per = (tile_end - tile_begin + p.num_splits - 1) / p.num_splits;
    tile_begin = min(tile_end, tile_begin + split * per);
    tile_end = min(tile_end, tile_begin + per);
  }

  const int hk = h / p.group;
  const T* q_ptr = static_cast<const T*>(p.q) + b * p.q_sb +
                   static_cast<std::int64_t>(q_start + m0) * p.q_ss + h * p.q_sh;
  const T* k_ptr = static_cast<const T*>(p.k) + b * p.k_sb +
                   static_cast<std::int64_t>(k_start) * p.k_ss + hk * p.k_sh;
  const T* v_ptr = static_cast<const T*>(p.v) + b * p.v_sb +
                   static_cast<std::int64_t>(k_start) * p.v_ss + hk * p.v_sh;

  load_tile<T, kM, kD, kThreads>(sQ, q_ptr, static_cast<int>(p.q_ss), rows, p.D);
  if (tile_begin < tile_end) {
    load_tile<T, kN, kD, kThreads>(sK, k_ptr + static_cast<std::int64_t>(tile_begin) * kN * p.k_ss,
                                   static_cast<int>(p.k_ss), k_len - tile_begin * kN, p.D);
  }
  cp_async_commit();

  float o[kMT][kDT][4];
  float row_max[kMT][2], row_sum[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int dt = 0; dt < kDT; ++dt)
      o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0.f;
    row_max[mt][0] = row_max[mt][1] = kNegInf;
    row_sum[mt][0] = row_sum[mt][1] = 0.f;
  }
  // Row of the sequence held in accumulator half `hf` (0: lanes' row g, 1: row g + 8).
  auto row_of = [&](int mt, int hf) { return m0 + warp_row0 + mt * 16 + lane / 4 + hf * 8; };

  const SwizzledRows<kChunks> q_rows(sQ, warp_row0 + (lane & 7) + ((lane >> 3) & 1) * 8, lane >> 4);
  const SwizzledRows<kChunks> k_rows(sK, (lane & 7) + ((lane >> 4) << 3), (lane >> 3) & 1);
  const SwizzledRows<kChunks> v_rows(sV, (lane & 7) + ((lane >> 3) & 1) * 8, lane >> 4);

  for (int t = tile_begin; t < tile_end; ++t) {
    cp_async_wait<0>();
    __syncthreads();  // K_t landed, and every warp is done reading V_t-1
    const std::int64_t n0 = static_cast<std::int64_t>(t) * kN;
    load_tile<T, kN, kD, kThreads>(sV, v_ptr + n0 * p.v_ss, static_cast<int>(p.v_ss),
                                   k_len - t * kN, p.D);
    cp_async_commit();

    // S = Q K^T for this warp's rows.
    float s[kMT][kNT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt)
        s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.f;
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) {
      std::uint32_t a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) ldmatrix_x4(a[mt], q_rows.at(mt * 16, ks));
#pragma unroll
      for (int np = 0; np < kNT / 2; ++np) {
        std::uint32_t bk[4];
        ldmatrix_x4(bk, k_rows.at(np * 16, ks));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma_16816<T>(s[mt][2 * np], a[mt], bk[0], bk[1]);
          mma_16816<T>(s[mt][2 * np + 1], a[mt], bk[2], bk[3]);
        }
      }
    }

    // Without softcap the scale is positive (the launcher sends negative scales to the feature
    // kernel), so the running max is taken on raw scores and the scale folds into one FMA with
    // the exponent. With softcap the scores are capped in log2 units first.
    const bool softcap = kFeatures && p.softcap_log2 > 0.f;
    const float scale = kFeatures ? 1.f : p.score_scale;
    if constexpr (kFeatures) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const float x = s[mt][nt][e] * p.score_scale;
            s[mt][nt][e] = softcap ? p.softcap_log2 * fast_tanh(x) : x;
          }
    }
    if constexpr (kMasks) {
      static_assert(kFeatures, "masks need the general softmax");
      add_mask_terms(s, p, b, h, m0 + warp_row0, static_cast<int>(n0), q_len, k_len, lane);
    }
    const bool masked = !(n0 >= full_lo && n0 + kN <= full_hi);
    if (masked) mask_outside_band(s, band, row_of, static_cast<int>(n0), lane);

    float scale_rows[kMT][2];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) scale_rows[mt][0] = scale_rows[mt][1] = scale;
    online_softmax(s, row_max, row_sum, o, scale_rows);

    // Dropout acts on the normalised weights: the sum above keeps every weight, the product
    // with V only the survivors (scaled by 1/(1-p) in the epilogue).
    if (kFeatures && !kMasks && p.dropout_p > 0.f) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf)
#pragma unroll
          for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const int j = static_cast<int>(n0) + nt * 8 + (lane & 3) * 2 + e;
              if (!common::dropout_keep(p.dropout_seed, p.dropout_offset, b, h, row_of(mt, hf), j,
                                        p.dropout_p)) {
                s[mt][nt][hf * 2 + e] = 0.f;
              }
            }
    }

    cp_async_wait<0>();
    __syncthreads();  // V_t landed, and every warp is done reading K_t
    if (t + 1 < tile_end) {
      load_tile<T, kN, kD, kThreads>(sK, k_ptr + (n0 + kN) * p.k_ss, static_cast<int>(p.k_ss),
                                     k_len - (t + 1) * kN, p.D);
    }
    cp_async_commit();

    accumulate_pv<T>(o, s, v_rows);
  }

  // Epilogue: normalise, write LSE and O (fp32 partials when the keys were split).
  cp_async_wait<0>();
  __syncthreads();  // no copy into sQ is still in flight when it is reused for the output
  constexpr float kLn2 = 0.69314718055994530942f;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const float sum = quad_sum(row_sum[mt][hf]);
      // sum == 0 only when no key is visible; NaN sums fall through and propagate.
      const float inv = sum == 0.f ? 0.f : p.dropout_scale / sum;
      const float lse = sum == 0.f ? kNegInf : (row_max[mt][hf] + __log2f(sum)) * kLn2;
      const int i = row_of(mt, hf);
      const int local = i - m0;
      if (p.num_splits > 1) {
        if (i < q_len) {
          const std::int64_t row =
              ((static_cast<std::int64_t>(split) * p.B + b) * p.Hq + h) * p.Sq + i;
          if ((lane & 3) == 0) p.lse_partial[row] = lse;
          float* dst = p.o_partial + row * p.D;
#pragma unroll
          for (int dt = 0; dt < kDT; ++dt) {
            const int col = dt * 8 + (lane & 3) * 2;
            if (col < p.D) {
              *reinterpret_cast<float2*>(dst + col) =
                  make_float2(o[mt][dt][hf * 2] * inv, o[mt][dt][hf * 2 + 1] * inv);
            }
          }
        }
        continue;
      }
      if (p.lse != nullptr && i < q_len && (lane & 3) == 0) {
        p.lse[b * p.lse_sb + h * p.lse_sh + static_cast<std::int64_t>(q_start + i) * p.lse_sq] =
            lse;
      }
#pragma unroll
      for (int dt = 0; dt < kDT; ++dt) {
        *reinterpret_cast<std::uint32_t*>(sQ + swizzle<kChunks>(local, dt) * 8 + (lane & 3) * 2) =
            pack2<T>(o[mt][dt][hf * 2] * inv, o[mt][dt][hf * 2 + 1] * inv);
      }
    }
  if (p.num_splits > 1) return;
  __syncthreads();
  T* o_ptr = static_cast<T*>(p.out) + b * p.o_sb +
             static_cast<std::int64_t>(q_start + m0) * p.o_ss + h * p.o_sh;
  store_tile<T, kM, kD, kThreads>(o_ptr, static_cast<int>(p.o_ss), sQ, rows, p.D);
}

}  // namespace attend::flash
