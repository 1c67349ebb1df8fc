// The sage forward kernel: flash's tiling (one block per query tile, head and sequence; Q kept
// in shared memory; K and V tiles streamed with cp.async, the load of V_t under QK^T_t and of
// K_t+1 under P·V_t) with S = Q K^T on int8 tensor cores. Q and K arrive quantized, one step per
// query row and per key, so a score is acc·q_step·k_step: the key step is applied while the
// int32 accumulators become floats, the row step folds into the softmax's exponent. P·V runs in
// fp16 with fp32 accumulation, and the epilogue multiplies each output channel by V's step.
#pragma once

#include <cmath>
#include <cstdint>

#include "backends/flash/band.cuh"
#include "backends/flash/primitives.cuh"
#include "backends/flash/steps.cuh"
#include "backends/flash/tile_config.hpp"
#include "backends/sage/params.hpp"
#include "backends/sage/scales.cuh"

namespace attend::sage {

using flash::SwizzledRows;

// Tiles per head dim: flash's. An int8 K tile is half as wide in bytes, which leaves shared
// memory to stage the output over.
template <int kHeadDim>
struct SageTiles : flash::TileConfig<kHeadDim> {};

template <int kD, class C>
constexpr int smem_bytes() {
  return C::kBlockM * kD + C::kBlockN * kD + C::kBlockN * kD * 2;  // int8 Q, int8 K, fp16 V
}

// T: the output's dtype. kD: the kernel's head dim (the int8 rows are this wide, zero-padded).
template <class T, int kD, class C = SageTiles<kD>>
__global__ void __launch_bounds__(C::kThreads, C::kMinBlocks)
    sage_fwd_kernel(const __grid_constant__ SageParams sp) {
  constexpr int kM = C::kBlockM, kN = C::kBlockN, kMT = C::kMTiles, kThreads = C::kThreads;
  constexpr int kPairs = kD / 2;      // an int8 row as b16 pairs
  constexpr int kQKChunks = kD / 16;  // 16-byte chunks per int8 row
  constexpr int kVChunks = kD / 8;    // 16-byte chunks per fp16 row
  constexpr int kNT = kN / 8, kDT = kD / 8;
  static_assert(kM * kD * static_cast<int>(sizeof(T)) <= smem_bytes<kD, C>(),
                "the output is staged over the tiles");
  using Pair = std::uint16_t;
  const flash::FlashParams& p = sp.base;

  extern __shared__ __align__(128) unsigned char smem[];
  Pair* sQ = reinterpret_cast<Pair*>(smem);
  Pair* sK = sQ + kM * kPairs;
  __half* sV = reinterpret_cast<__half*>(sK + kN * kPairs);

  const int m_block = static_cast<int>(gridDim.x - 1 - blockIdx.x);  // heavier (causal) first
  const int h = static_cast<int>(blockIdx.y);
  const int b = static_cast<int>(blockIdx.z);
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int warp_row0 = static_cast<int>(threadIdx.x) / 32 * 16 * kMT;

  const flash::QueryTile tile = flash::query_tile<kM, kN>(p, b, m_block);
  if (tile.m0 >= tile.q_len) return;
  const int q_start = tile.q_start, q_len = tile.q_len, k_start = tile.k_start, k_len = tile.k_len,
            m0 = tile.m0, rows = tile.rows;
  const flash::Band band = tile.band;
  const int tile_begin = tile.tile_begin, tile_end = tile.tile_end;
  const int full_lo = tile.full_lo, full_hi = tile.full_hi;

  const int hk = h / p.group;
  const Pair* q_ptr = static_cast<const Pair*>(p.q) + b * p.q_sb +
                      static_cast<std::int64_t>(q_start + m0) * p.q_ss + h * p.q_sh;
  const Pair* k_ptr = static_cast<const Pair*>(p.k) + b * p.k_sb +
                      static_cast<std::int64_t>(k_start) * p.k_ss + hk * p.k_sh;
  const __half* v_ptr = static_cast<const __half*>(p.v) + b * p.v_sb +
                        static_cast<std::int64_t>(k_start) * p.v_ss + hk * p.v_sh;
  const int v_dim = sp.v_max != nullptr ? kD : p.D;  // the fp16 copy is zero-padded
  const std::int64_t stats = static_cast<std::int64_t>(h) * p.B + b;
  const std::int64_t kv_stats = static_cast<std::int64_t>(hk) * p.B + b;
  const float* k_steps = sp.k_scale + kv_stats * key_step_rows(p.Sk);

  flash::load_tile<Pair, kM, kPairs, kThreads>(sQ, q_ptr, static_cast<int>(p.q_ss), rows, kPairs);
  if (tile_begin < tile_end) {
    flash::load_tile<Pair, kN, kPairs, kThreads>(
        sK, k_ptr + static_cast<std::int64_t>(tile_begin) * kN * p.k_ss, static_cast<int>(p.k_ss),
        k_len - tile_begin * kN, kPairs);
  }
  flash::cp_async_commit();

  auto row_of = [&](int mt, int hf) { return m0 + warp_row0 + mt * 16 + lane / 4 + hf * 8; };
  float o[kMT][kDT][4];
  float row_max[kMT][2], row_sum[kMT][2], q_step[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int dt = 0; dt < kDT; ++dt)
      o[mt][dt][0] = o[mt][dt][1] = o[mt][dt][2] = o[mt][dt][3] = 0.f;
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      row_max[mt][hf] = -INFINITY;
      row_sum[mt][hf] = 0.f;
      q_step[mt][hf] = sp.q_scale[stats * p.Sq + min(row_of(mt, hf), q_len - 1)];
    }
  }

  const SwizzledRows<kQKChunks> q_rows(sQ, warp_row0 + (lane & 7) + ((lane >> 3) & 1) * 8,
                                       lane >> 4);
  const SwizzledRows<kQKChunks> k_rows(sK, (lane & 7) + ((lane >> 4) << 3), (lane >> 3) & 1);
  const SwizzledRows<kVChunks> v_rows(sV, (lane & 7) + ((lane >> 3) & 1) * 8, lane >> 4);

  for (int t = tile_begin; t < tile_end; ++t) {
    flash::cp_async_wait<0>();
    __syncthreads();  // K_t landed, and every warp is done reading V_t-1
    const int n0 = t * kN;
    flash::load_tile<__half, kN, kD, kThreads>(sV, v_ptr + static_cast<std::int64_t>(n0) * p.v_ss,
                                               static_cast<int>(p.v_ss), k_len - n0, v_dim);
    flash::cp_async_commit();

    // This lane's key steps (columns 2·(lane % 4) + {0, 1} of each 8-key MMA tile), zero past
    // the keys; issued before the MMAs so their latency hides under them.
    float2 k_step[kNT];
#pragma unroll
    for (int nt = 0; nt < kNT; ++nt)
      k_step[nt] = *reinterpret_cast<const float2*>(k_steps + n0 + nt * 8 + (lane & 3) * 2);

    int acc[kMT][kNT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt)
        acc[mt][nt][0] = acc[mt][nt][1] = acc[mt][nt][2] = acc[mt][nt][3] = 0;
#pragma unroll
    for (int ks = 0; ks < kD / 32; ++ks) {
      std::uint32_t a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) flash::ldmatrix_x4(a[mt], q_rows.at(mt * 16, ks));
#pragma unroll
      for (int np = 0; np < kNT / 2; ++np) {
        std::uint32_t bk[4];
        flash::ldmatrix_x4(bk, k_rows.at(np * 16, ks));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          flash::mma_16832_s8(acc[mt][2 * np], a[mt], bk[0], bk[1]);
          flash::mma_16832_s8(acc[mt][2 * np + 1], a[mt], bk[2], bk[3]);
        }
      }
    }

    // s = acc·k_step, in units of the row's q_step.
    float s[kMT][kNT][4];
#pragma unroll
    for (int nt = 0; nt < kNT; ++nt) {
      const float off0 = -kMagic * k_step[nt].x, off1 = -kMagic * k_step[nt].y;
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
          s[mt][nt][hf * 2] = fmaf(biased_float(acc[mt][nt][hf * 2]), k_step[nt].x, off0);
          s[mt][nt][hf * 2 + 1] = fmaf(biased_float(acc[mt][nt][hf * 2 + 1]), k_step[nt].y, off1);
        }
    }
    if (!(n0 >= full_lo && n0 + kN <= full_hi)) flash::mask_outside_band(s, band, row_of, n0, lane);
    flash::online_softmax(s, row_max, row_sum, o, q_step);

    flash::cp_async_wait<0>();
    __syncthreads();  // V_t landed, and every warp is done reading K_t
    if (t + 1 < tile_end) {
      flash::load_tile<Pair, kN, kPairs, kThreads>(
          sK, k_ptr + static_cast<std::int64_t>(n0 + kN) * p.k_ss, static_cast<int>(p.k_ss),
          k_len - (t + 1) * kN, kPairs);
    }
    flash::cp_async_commit();
    flash::accumulate_pv<__half>(o, s, v_rows);
  }

  // Epilogue: normalise, undo V's per-channel step, add smoothing back to the LSE, and stage
  // O in shared memory (over the tiles) for row-contiguous stores.
  flash::cp_async_wait<0>();
  __syncthreads();
  T* staged = reinterpret_cast<T*>(smem);
  float v_step[kDT][2];
#pragma unroll
  for (int dt = 0; dt < kDT; ++dt)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      v_step[dt][e] = sp.v_max != nullptr
                          ? value_step(sp.v_max[kv_stats * kD + dt * 8 + (lane & 3) * 2 + e])
                          : 1.f;
    }
  constexpr float kLn2 = 0.69314718055994530942f;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
      const float sum = flash::quad_sum(row_sum[mt][hf]);
      const float inv = sum == 0.f ? 0.f : 1.f / sum;  // 0: no key visible
      const int i = row_of(mt, hf);
      if (p.lse != nullptr && i < q_len && (lane & 3) == 0) {
        const float lse = sum == 0.f ? -INFINITY
                                     : (row_max[mt][hf] + __log2f(sum)) * kLn2 +
                                           (sp.lse_bias ? sp.lse_bias[stats * p.Sq + i] : 0.f);
        p.lse[b * p.lse_sb + h * p.lse_sh + static_cast<std::int64_t>(q_start + i) * p.lse_sq] =
            lse;
      }
#pragma unroll
      for (int dt = 0; dt < kDT; ++dt) {
        *reinterpret_cast<std::uint32_t*>(staged + flash::swizzle<kVChunks>(i - m0, dt) * 8 +
                                          (lane & 3) * 2) =
            flash::pack2<T>(o[mt][dt][hf * 2] * inv * v_step[dt][0],
                            o[mt][dt][hf * 2 + 1] * inv * v_step[dt][1]);
      }
    }
  __syncthreads();
  T* o_ptr = static_cast<T*>(p.out) + b * p.o_sb +
             static_cast<std::int64_t>(q_start + m0) * p.o_ss + h * p.o_sh;
  flash::store_tile<T, kM, kD, kThreads>(o_ptr, static_cast<int>(p.o_ss), staged, rows, p.D);
}

}  // namespace attend::sage
