// The sage_fp8 forward kernel (sm_90a): flash3's persistent, warp-specialised schedule over
// quantized tensors. The producer streams int8 Q and K tiles, each K tile's per-key steps, and
// tiles of V's fp8 copy (stored transposed, channel rows of keys, in two planes: V ≈ hi + lo)
// with TMA. Each of two consumer warpgroups computes for its 64 query rows, one key block n at a
// time,
//     S = (Q8 K8_n^T)·step_k                  int8 wgmma into int32, dequantized per key
//     P = 2^8 · exp2(S·step_q − m)            per-row step (with the softmax scale) in the exponent
//     O = O·corr + fp8(P) (hi_n + lo_n)       fp8 wgmma into a fresh accumulator, added in fp32
//     l = l·corr + fp8(P) 1                   the row sums, on the tensor cores too
// so that the fp8 MMA's reduced-precision accumulation spans one block of keys only (the
// two-level accumulation), and V's rounding (2^-4 in one e4m3) is carried by its low plane. The
// row sums add the weights as rounded, the very ones P·V used. The epilogue divides by l and
// multiplies each channel by V's step.
#pragma once

#include <cuda.h>

#include <cmath>
#include <cstdint>

#include "backends/flash3/handoff.cuh"
#include "backends/flash3/pipeline.cuh"
#include "backends/flash3/queue.cuh"
#include "backends/flash3/schedule.cuh"
#include "backends/flash3/softmax.cuh"
#include "backends/flash3/staging.cuh"
#include "backends/flash3/sync.cuh"
#include "backends/flash3/tiles.hpp"
#include "backends/flash3/wgmma.cuh"
#include "backends/sage/params.hpp"
#include "backends/sage/scales.cuh"

namespace attend::sage::fp8 {

using namespace attend::flash3;  // the schedule, barriers and MMA wrappers are flash3's

// One kernel: head dim 128 (smaller ones padded), 128-key blocks. Every tile row is 128 bytes:
// a Q or K row of 128 int8 channels, or a V channel row of 128 fp8 keys.
constexpr int kD = 128;
constexpr int kN = 128;
constexpr int kStages = 3;
constexpr int kTileBytes = 128 * kRowBytes;  // a Q tile (128 rows), a K slot
constexpr int kValueBytes = 2 * kTileBytes;  // a V slot: both planes
constexpr int kStepBytes = kN * 4;           // a K slot's per-key steps

using Bars = Barriers<kStages>;

// Byte offsets in the (1024-byte aligned) dynamic shared memory: Q, the K slots, the V slots,
// the output staging (two 64-column panels of 16-bit values), a swizzle atom of fp8 ones (the B
// operand of the row sums), the K steps, the barriers.
struct Plan {
  static constexpr int kQ = 0;
  static constexpr int kK = kQ + kTileBytes;
  static constexpr int kV = kK + kStages * kTileBytes;
  static constexpr int kO = kV + kStages * kValueBytes;
  static constexpr int kOnes = kO + kBlockM * kD * 2;
  static constexpr int kSteps = kOnes + kAtomBytes;
  static constexpr int kBarriers = kSteps + kStages * kStepBytes;
  static constexpr int kBytes = kBarriers + static_cast<int>(sizeof(Bars));
  static constexpr int kAlloc = kBytes + 1024;  // room to align the base
  static_assert(kAlloc <= 227 * 1024, "sage_fp8 tile plan exceeds shared memory");
};

struct Shared {
  unsigned char* base;
  __device__ __forceinline__ unsigned char* q() const { return base + Plan::kQ; }
  __device__ __forceinline__ unsigned char* k(int slot) const {
    return base + Plan::kK + slot * kTileBytes;
  }
  __device__ __forceinline__ unsigned char* v(int slot) const {
    return base + Plan::kV + slot * kValueBytes;
  }
  __device__ __forceinline__ unsigned char* o() const { return base + Plan::kO; }
  __device__ __forceinline__ unsigned char* ones() const { return base + Plan::kOnes; }
  __device__ __forceinline__ float* steps(int slot) const {
    return reinterpret_cast<float*>(base + Plan::kSteps + slot * kStepBytes);
  }
  __device__ __forceinline__ Bars& bars() const {
    return *reinterpret_cast<Bars*>(base + Plan::kBarriers);
  }
};

// A K-major 8-bit operand: 32 bytes of reduction from byte k0 of every 128-byte row. The
// descriptor's address field is the byte address / 16 (shared addresses are below 2^18), so the
// k-steps and planes of a tile are its base descriptor plus a constant: one add per MMA.
__device__ __forceinline__ std::uint64_t rows_of(std::uint32_t tile) {
  std::uint64_t d = smem_descriptor(tile, 16, kAtomBytes);
  asm("" : "+l"(d));  // opaque: the steps add to it instead of re-deriving it from the address
  return d;
}
__device__ __forceinline__ std::uint64_t step_to(std::uint64_t rows, int byte_offset) {
  const std::uint32_t low = static_cast<std::uint32_t>(rows) + (byte_offset >> 4);  // no carry
  return (rows & ~std::uint64_t{0xFFFFFFFF}) | low;
}

// ---- producer -------------------------------------------------------------------------------

__device__ __forceinline__ void produce(const CUtensorMap* tq, const CUtensorMap* tk,
                                        const CUtensorMap* tv, const Fp8Params& sp,
                                        const Shared& sh) {
  const Flash3Params& p = sp.base;
  const flash::FlashParams& f = p.f;
  const int step_rows = key_step_rows(f.Sk);
  auto& bars = sh.bars();
  Ring<kStages> k_ring, v_ring;
  std::uint32_t q_phase = 0;
  Unit u;
  for (int k = 0; post_unit<false>(k, p, bars.queue, u); ++k) {
    TileWork<false> work;
    if (!tile_work<kBlockM>(u, p, kN, work)) continue;
    const Tile& w = work.w;
    const int hk = w.h / f.group;
    const float* steps = sp.k_scale + (static_cast<std::int64_t>(hk) * f.B + w.b) * step_rows;

    auto load_k = [&](int n) {
      barrier_wait(&bars.k_empty[k_ring.slot], k_ring.phase ^ 1);
      std::uint64_t* full = &bars.k_full[k_ring.slot];
      barrier_arrive_expect(full, kTileBytes + kStepBytes);
      tma_load(sh.k(k_ring.slot), tk, full, 0, n * kN, hk, w.b);
      bulk_load(sh.steps(k_ring.slot), steps + n * kN, kStepBytes, full);
      k_ring.advance();
    };
    auto load_v = [&](int n) {
      barrier_wait(&bars.v_empty[v_ring.slot], v_ring.phase ^ 1);
      std::uint64_t* full = &bars.v_full[v_ring.slot];
      barrier_arrive_expect(full, kValueBytes);
      tma_load(sh.v(v_ring.slot), tv, full, n * kN, 0, hk, w.b);  // keys n·kN.., both planes
      v_ring.advance();
    };

    const KeyWalk<false>& walk = work.walk;
    if (walk.count > 0) load_k(walk.at(0));
    barrier_wait(&bars.q_empty, q_phase ^ 1);
    barrier_arrive_expect(&bars.q_full, kTileBytes);
    tma_load(sh.q(), tq, &bars.q_full, 0, work.m0, w.h, w.b);
    q_phase ^= 1;
    for (int i = 1; i < walk.count; ++i) {
      load_k(walk.at(i));
      load_v(walk.at(i - 1));
    }
    if (walk.count > 0) load_v(walk.at(walk.count - 1));
  }
}

// ---- consumers ------------------------------------------------------------------------------

// The weights of 32 keys as one k-step of the fp8 A operand: registers (row g, slots 4t..),
// (g + 8, 4t..), (g, 16 + 4t..), (g + 8, 16 + 4t..) hold the keys fp8_key_of_slot names, which
// are this thread's own accumulator entries (key blocks 4c .. 4c + 3).
__device__ __forceinline__ void weights_to_fp8(const float (&s)[kN / 2],
                                               std::uint32_t (&a)[kN / 8]) {
#pragma unroll
  for (int c = 0; c < kN / 32; ++c)
#pragma unroll
    for (int hi = 0; hi < 2; ++hi)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int b0 = (4 * c + 2 * hi) * 4 + 2 * half, b1 = b0 + 4;  // key blocks 2hi, 2hi+1
        a[c * 4 + hi * 2 + half] = pack_e4m3(s[b0], s[b0 + 1], s[b1], s[b1 + 1]);
      }
}

// The int32 scores as floats times each key's step (steps: the slot's kN, in shared memory).
__device__ __forceinline__ void dequantize(const int (&acc)[kN / 2], const float* steps, int lane,
                                           float (&s)[kN / 2]) {
#pragma unroll
  for (int nb = 0; nb < kN / 8; ++nb) {
    const float2 step = *reinterpret_cast<const float2*>(steps + nb * 8 + (lane & 3) * 2);
    const float st[2] = {step.x, step.y};
#pragma unroll
    for (int half = 0; half < 2; ++half)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int i = nb * 4 + half * 2 + e;
        s[i] = fmaf(biased_float(acc[i]), st[e], -kMagic * st[e]);
      }
  }
}

template <class T>
__device__ __forceinline__ void consume(int cw, const CUtensorMap* to, const Fp8Params& sp,
                                        const Shared& sh) {
  constexpr int kTurnThreads = 128 * kConsumerWarpgroups;
  const Flash3Params& p = sp.base;
  const flash::FlashParams& f = p.f;
  const int tid = static_cast<int>(threadIdx.x) % 128;
  const int warp = tid / 32, lane = tid % 32;
  const int my_turn = kTurnBarrier + cw, next_turn = kTurnBarrier + (cw + 1) % kConsumerWarpgroups;
  const int epilogue = kEpilogueBarrier + cw;
  auto& bars = sh.bars();
  const std::uint64_t q_rows = rows_of(smem_u32(sh.q()) + cw * 64 * kRowBytes);
  const std::uint64_t ones = rows_of(smem_u32(sh.ones()));

  if (cw == 0) named_arrive(my_turn, kTurnThreads);
  Ring<kStages> k_ring, v_ring;
  std::uint32_t q_phase = 0;
  auto release = [&](std::uint64_t* empty, Ring<kStages>& ring) {
    __syncwarp();
    if (lane == 0) barrier_arrive(&empty[ring.slot]);
    ring.advance();
  };
  auto release_q = [&] {
    __syncwarp();
    if (lane == 0) barrier_arrive(&bars.q_empty);
  };

  SplitTiles split;
  Unit u;
  for (int k = 0; read_unit<false>(k, p, bars.queue, u); ++k) {
    TileWork<false> work;
    if (!tile_work<kBlockM>(u, p, kN, work)) continue;
    const Tile& w = work.w;
    const Sequence& s = work.s;
    const int m0 = work.m0;
    const KeyBlocks& keys = work.keys;
    const KeyWalk<false>& walk = work.walk;
    const int row0 = m0 + cw * 64 + warp * 16 + lane / 4;
    const std::int64_t stat_row = static_cast<std::int64_t>(w.h) * f.B + w.b;

    // Each row's Q step (with the softmax scale, log2 units) scales its scores in the exponent.
    float q_step[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int i = row0 + 8 * half;
      q_step[half] = i < s.q_len ? sp.q_scale[stat_row * f.Sq + i] : 1.f;
    }

    float o[kD / 2];
#pragma unroll
    for (int i = 0; i < kD / 2; ++i) o[i] = 0.f;
    RowState st;
    st.reset();
    barrier_wait(&bars.q_full, q_phase);
    q_phase ^= 1;

    if (walk.count > 0) {
      int acc[kN / 2];
      float sc[kN / 2];
      float pv[kD / 2];
      float sums[4];  // P·1: rows g (0, 1) and g + 8 (2, 3), every column the same
      std::uint32_t pw[kN / 8];

      auto issue_qk = [&] {
        wgmma_fence();
        const std::uint64_t kt = rows_of(smem_u32(sh.k(k_ring.slot)));
#pragma unroll
        for (int k0 = 0; k0 < kD; k0 += 32) {
          wgmma_ss_s8_n128(acc, step_to(q_rows, k0), step_to(kt, k0), k0 > 0);
        }
        wgmma_commit();
      };
      auto issue_pv = [&] {
        barrier_wait(&bars.v_full[v_ring.slot], v_ring.phase);
        wgmma_fence();
        const std::uint64_t vt = rows_of(smem_u32(sh.v(v_ring.slot)));
#pragma unroll
        for (int k0 = 0; k0 < kN; k0 += 32) {
          const auto& a = *reinterpret_cast<const std::uint32_t(*)[4]>(&pw[k0 / 8]);
          wgmma_rs_e4m3_n128(pv, a, step_to(vt, k0), k0 > 0);
          wgmma_rs_e4m3_n128(pv, a, step_to(vt, kTileBytes + k0), 1);
          wgmma_rs_e4m3_n8(sums, a, step_to(ones, k0), k0 > 0);
        }
        wgmma_commit();
      };
      // S of visit i (key block n) is ready: dequantize, mask, softmax, weights to fp8.
      auto scores_to_weights = [&](int n) {
        fence_operands(acc);
        dequantize(acc, sh.steps(k_ring.slot), lane, sc);
        // The steps were read through the generic proxy and the slot's next fill is a bulk
        // copy (the async proxy): order the reads before it.
        fence_async_shared();
        release(bars.k_empty, k_ring);
        if (keys.masked(n, kN)) mask_scores<kN>(sc, keys.band, row0, n * kN, lane);
        softmax_step_rows<kN, kFp8ValueLog2, false>(sc, st, q_step);
      };
      // O = O·corr + P·V of the last block and the same for the row sums: the rescale for
      // the new max rides on the add.
      auto add_block = [&] {
        fence_operands(pv);
        fence_operands(sums);
#pragma unroll
        for (int i = 0; i < kD / 2; ++i) o[i] = fmaf(o[i], st.corr[(i / 2) % 2], pv[i]);
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          st.sum[half] = fmaf(st.sum[half], st.corr[half], sums[2 * half]);
        }
      };
      // The last block's P·V, finished and added before anything else is issued: the block's
      // P·V and the next S never hold their accumulators at once, so the loop fits in
      // registers. The other warpgroup's softmax fills the tensor cores meanwhile (the turn).
      auto finish_pv = [&] {
        issue_pv();
        wgmma_wait<0>();
        fence_operands(pw);
        release(bars.v_empty, v_ring);
        add_block();
      };

      for (int i = 0; i < walk.count; ++i) {
        const int n = walk.at(i);
        barrier_wait(&bars.k_full[k_ring.slot], k_ring.phase);
        named_sync(my_turn, kTurnThreads);
        if (i > 0) finish_pv();
        issue_qk();
        named_arrive(next_turn, kTurnThreads);
        wgmma_wait<0>();
        scores_to_weights(n);
        weights_to_fp8(sc, pw);
      }

      release_q();
      named_sync(my_turn, kTurnThreads);
      finish_pv();
      named_arrive(next_turn, kTurnThreads);
    } else {
      release_q();
    }

    if (split.hand_over_or_merge<kD>(p.tail, u, cw, tid, epilogue, o, st)) continue;

    // Epilogue: normalise (the weights' 2^8 cancels), undo V's channel steps, write the LSE
    // (with the smoothing's share back), stage O and store it.
    constexpr float kLn2 = 0.69314718055994530942f;
    float inv[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const float sum = st.sum[half];  // whole rows: the tensor cores added every key
      inv[half] = sum == 0.f ? 0.f : 1.f / sum;
      const int i = row0 + 8 * half;
      if (f.lse != nullptr && (lane & 3) == 0 && i < s.q_len) {
        const float bias = sp.lse_bias[stat_row * f.Sq + i];
        f.lse[w.b * f.lse_sb + w.h * f.lse_sh + static_cast<std::int64_t>(i) * f.lse_sq] =
            sum == 0.f ? -INFINITY : (st.max[half] + __log2f(sum) - kFp8ValueLog2) * kLn2 + bias;
      }
    }
    const std::uint32_t* v_max =
        sp.v_max + (static_cast<std::int64_t>(w.h / f.group) * f.B + w.b) * kD;
    if (tid == 0) tma_store_wait_read();
    named_sync(epilogue, 128);
    stage_output<T, kD>(sh.o(), cw, warp, lane, o, inv,
                        [&](int col) { return fp8_value_step(v_max[col]); });
    fence_async_shared();
    named_sync(epilogue, 128);
    if (tid == 0) store_staged_rows<kD>(to, sh.o(), cw, m0 + cw * 64, w.h, w.b);
  }
  split.finish(p.tail, cw, tid);
  if (tid == 0) tma_store_wait();
}

// ---- the kernel -----------------------------------------------------------------------------

template <class T>
__global__ void __launch_bounds__(kThreads, 1)
    sage_fp8_kernel(const __grid_constant__ CUtensorMap tq, const __grid_constant__ CUtensorMap tk,
                    const __grid_constant__ CUtensorMap tv, const __grid_constant__ CUtensorMap to,
                    const __grid_constant__ Fp8Params p) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ unsigned char smem_raw[];
  const std::uint32_t raw = smem_u32(smem_raw);
  const Shared sh{smem_raw + ((raw + 1023) & ~1023u) - raw};
  const int warpgroup = static_cast<int>(threadIdx.x) / 128;

  if (threadIdx.x == 0) {
    init_barriers(sh.bars(), 4 * kConsumerWarpgroups, &tq, &tk, &tv, &to);  // Q: per warp
  }
  constexpr std::uint32_t kFp8Ones = 0x38383838u;  // four e4m3 1.0
  for (int i = static_cast<int>(threadIdx.x); i < kAtomBytes / 4; i += kThreads) {
    reinterpret_cast<std::uint32_t*>(sh.ones())[i] = kFp8Ones;
  }
  fence_async_shared();  // the MMAs read the ones through the async proxy
  __syncthreads();

  if (warpgroup == 0) {
    registers_release<kProducerRegisters>();
    if (threadIdx.x == 0) produce(&tq, &tk, &tv, p, sh);
  } else {
    registers_claim<kConsumerRegisters>();
    consume<T>(warpgroup - 1, &to, p, sh);
  }
#endif
}

}  // namespace attend::sage::fp8
