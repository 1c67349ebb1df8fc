// The flash3 forward kernel (sm_90a). A persistent block walks query tiles of 128 rows. Its
// producer warp streams Q, K and V tiles with TMA into shared-memory slots guarded by
// mbarriers; two consumer warpgroups of 64 rows each compute
//     S = Q K_n^T,   P = exp2(S·scale − m),   O = O·corr + P V_n
// with wgmma, one key block n at a time (last block first, so the diagonal blocks that need
// masks come before the rest). Inside a warpgroup the softmax of block n overlaps the P V
// product of block n+1 already issued; between the two warpgroups a pair of named barriers
// alternates GEMM issue, so one warpgroup's softmax runs under the other's GEMMs. The output
// goes through shared memory and leaves with a TMA store. A tile of the shared tail may be cut
// between two blocks, one of which hands its state to the other (handoff.cuh). The Mods
// policy (mods.cuh) is the flex backend's score and mask functions; the built-in kernels take
// none, and a flex block mask replaces the band's key blocks with its list (schedule.cuh).
#pragma once

#include <cuda.h>

#include <cmath>
#include <cstdint>

#include "backends/flash3/handoff.cuh"
#include "backends/flash3/mods.cuh"
#include "backends/flash3/params.hpp"
#include "backends/flash3/pipeline.cuh"
#include "backends/flash3/queue.cuh"
#include "backends/flash3/schedule.cuh"
#include "backends/flash3/softmax.cuh"
#include "backends/flash3/staging.cuh"
#include "backends/flash3/sync.cuh"
#include "backends/flash3/tiles.hpp"
#include "backends/flash3/wgmma.cuh"

namespace attend::flash3 {

template <int kD>
struct Shared {
  using Plan = SmemPlan<kD>;
  using Bars = Barriers<Tiles<kD>::kStages>;
  static_assert(sizeof(Bars) <= Plan::kBarrierCount * 8, "the barriers outgrow their plan");
  unsigned char* base;
  __device__ __forceinline__ unsigned char* q() const { return base + Plan::kQ; }
  __device__ __forceinline__ unsigned char* k(int slot) const {
    return base + Plan::kK + slot * Plan::kKVBytes;
  }
  __device__ __forceinline__ unsigned char* v(int slot) const {
    return base + Plan::kV + slot * Plan::kKVBytes;
  }
  // Where the output tile is staged: its own buffer, or the Q tile's rows.
  __device__ __forceinline__ unsigned char* o() const {
    return base + (Tiles<kD>::kSeparateOutput ? Plan::kO : Plan::kQ);
  }
  __device__ __forceinline__ Bars& bars() const {
    return *reinterpret_cast<Bars*>(base + Plan::kBarriers);
  }
};

// ---- producer: one thread issues every copy -------------------------------------------------

template <int kD, bool kList>
__device__ __forceinline__ void produce(const CUtensorMap* tq, const CUtensorMap* tk,
                                        const CUtensorMap* tv, const Flash3Params& p,
                                        const Shared<kD>& sh) {
  constexpr int kN = Tiles<kD>::kBlockN, kStages = Tiles<kD>::kStages, kPanels = kD / kPanelCols;
  auto& bars = sh.bars();
  Ring<kStages> k_ring, v_ring;
  std::uint32_t q_phase = 0;
  const flash::FlashParams& f = p.f;
  Unit u;
  for (int k = 0; post_unit<kList>(k, p, bars.queue, u); ++k) {
    TileWork<kList> work;
    if (!tile_work<kBlockM>(u, p, kN, work)) continue;
    const Tile& w = work.w;
    const Sequence& s = work.s;
    const int m0 = work.m0;
    const KeyWalk<kList>& walk = work.walk;
    const int hk = w.h / f.group;
    const int q_batch = f.cu_q != nullptr ? 0 : w.b;  // packed tensors are one long sequence
    const int k_batch = f.cu_k != nullptr ? 0 : w.b;

    // One K or V block into the ring's next slot (slots of one ring are kKVBytes apart).
    auto load_kv = [&](const CUtensorMap* map, Ring<kStages>& ring, std::uint64_t* full,
                       std::uint64_t* empty, unsigned char* slots, int n) {
      barrier_wait(&empty[ring.slot], ring.phase ^ 1);
      barrier_arrive_expect(&full[ring.slot], SmemPlan<kD>::kKVBytes);
      unsigned char* dst = slots + ring.slot * SmemPlan<kD>::kKVBytes;
#pragma unroll
      for (int c = 0; c < kPanels; ++c) {
        tma_load(dst + c * kN * kRowBytes, map, &full[ring.slot], c * kPanelCols,
                 s.k_start + n * kN, hk, k_batch);
      }
      ring.advance();
    };
    auto load_k = [&](int n) { load_kv(tk, k_ring, bars.k_full, bars.k_empty, sh.k(0), n); };
    auto load_v = [&](int n) { load_kv(tv, v_ring, bars.v_full, bars.v_empty, sh.v(0), n); };

    // The first K block goes before Q, whose slot may free late (after the last tile's S, or
    // its output store).
    if (walk.count > 0) load_k(walk.at(0));
    barrier_wait(&bars.q_empty, q_phase ^ 1);
    barrier_arrive_expect(&bars.q_full, SmemPlan<kD>::kQBytes);
#pragma unroll
    for (int c = 0; c < kPanels; ++c) {
      tma_load(sh.q() + c * kBlockM * kRowBytes, tq, &bars.q_full, c * kPanelCols, s.q_start + m0,
               w.h, q_batch);
    }
    q_phase ^= 1;
    // Consumers take S of visit i before P V of visit i - 1: K runs one block ahead of V.
    for (int i = 1; i < walk.count; ++i) {
      load_k(walk.at(i));
      load_v(walk.at(i - 1));
    }
    if (walk.count > 0) load_v(walk.at(walk.count - 1));
  }
}

// ---- consumers ------------------------------------------------------------------------------

// S = Q K^T over the head dim, 16 columns per wgmma.
template <class T, int kD, int kN>
__device__ __forceinline__ void gemm_qk(float (&s)[kN / 2], std::uint32_t q, std::uint32_t k) {
#pragma unroll
  for (int k0 = 0; k0 < kD; k0 += 16) {
    mma_ss<T, kN>(s, k_major(q, kBlockM, k0), k_major(k, kN, k0), k0 > 0);
  }
}

// O += P V over the keys, 16 per wgmma.
template <class T, int kD, int kN>
__device__ __forceinline__ void gemm_pv(float (&o)[kD / 2], const std::uint32_t (&pw)[kN / 4],
                                        std::uint32_t v) {
#pragma unroll
  for (int k0 = 0; k0 < kN; k0 += 16) {
    mma_rs<T, kD>(o, *reinterpret_cast<const std::uint32_t(*)[4]>(&pw[k0 / 4]),
                  mn_major(v, kN, k0));
  }
}

template <class T, int kD, bool kGeneral, class Mods>
__device__ __forceinline__ void consume(int cw, const CUtensorMap* to, const Flash3Params& p,
                                        const Shared<kD>& sh) {
  constexpr int kN = Tiles<kD>::kBlockN, kStages = Tiles<kD>::kStages;
  constexpr int kTurnThreads = 128 * kConsumerWarpgroups;
  const int tid = static_cast<int>(threadIdx.x) % 128;
  const int warp = tid / 32, lane = tid % 32;
  const int my_turn = kTurnBarrier + cw, next_turn = kTurnBarrier + (cw + 1) % kConsumerWarpgroups;
  const int epilogue = kEpilogueBarrier + cw;
  auto& bars = sh.bars();
  const flash::FlashParams& f = p.f;
  // This warpgroup's 64 rows within each 128-row panel of the Q tile (and of the output).
  const std::uint32_t q_rows = smem_u32(sh.q()) + cw * 64 * kRowBytes;

  if (cw == 0) named_arrive(my_turn, kTurnThreads);  // warpgroup 0 issues first
  Ring<kStages> k_ring, v_ring;
  std::uint32_t q_phase = 0;
  auto release = [&](std::uint64_t* empty, Ring<kStages>& ring) {
    __syncwarp();
    if (lane == 0) barrier_arrive(&empty[ring.slot]);
    ring.advance();
  };
  // With its own output buffer, Q frees after the tile's last S (one arrival per warp).
  constexpr bool kSeparateOutput = Tiles<kD>::kSeparateOutput;
  auto release_q_early = [&] {
    if constexpr (kSeparateOutput) {
      __syncwarp();
      if (lane == 0) barrier_arrive(&bars.q_empty);
    }
  };

  constexpr bool kList = Mods::kMaskMod;
  SplitTiles split;
  Unit u;
  for (int k = 0; read_unit<kList>(k, p, bars.queue, u); ++k) {
    TileWork<kList> work;
    if (!tile_work<kBlockM>(u, p, kN, work)) continue;
    const Tile& w = work.w;
    const Sequence& s = work.s;
    const int m0 = work.m0;
    const KeyBlocks& keys = work.keys;
    const KeyWalk<kList>& walk = work.walk;
    const int row0 = m0 + cw * 64 + warp * 16 + lane / 4;  // this thread's first row

    float o[kD / 2];
#pragma unroll
    for (int i = 0; i < kD / 2; ++i) o[i] = 0.f;
    RowState st;
    st.reset();
    barrier_wait(&bars.q_full, q_phase);
    q_phase ^= 1;

    if (walk.count > 0) {
      float sc[kN / 2];
      std::uint32_t pw[kN / 4];
      [[maybe_unused]] MaskBits<kN> visible;  // of a partial tile, while its S GEMM runs
      [[maybe_unused]] int bit_slot = -1;     // where the block mask left them, if it did
      auto next_visit = [&](int i) {
        if constexpr (Mods::kMaskMod) bit_slot = walk.bit_slot(i);
        return walk.at(i);
      };
      auto evaluate_mask = [&](int i, int n) {
        if constexpr (Mods::kMaskMod) {
          if (bit_slot >= 0) {
            visible = load_mask_bits<kN>(p.flex.blocks.bits, bit_slot, cw * 128 + tid);
          } else if (walk.partial_tile(i)) {
            visible =
                evaluate_mask_mod<Mods, kN>(p.flex, w.b, w.h, row0, n * kN, lane, s.q_len, s.k_len);
          }
        }
      };
      // Visit i's key block n (and a partial tile's bit slot) was read before its GEMM was
      // issued: with a block list they come from global memory, and their latency hides under
      // the wait for K and the GEMM.
      auto scores_to_weights = [&](int i, int n) {
        if constexpr (kGeneral) transform_scores<kN>(sc, f);
        if constexpr (Mods::kScoreMod) {
          apply_score_mod<Mods, kN>(sc, p.flex, w.b, w.h, row0, n * kN, lane, s.q_len, s.k_len);
        }
        if (keys.masked(n, kN)) mask_scores<kN>(sc, keys.band, row0, n * kN, lane);
        if constexpr (Mods::kMaskMod) {
          if (walk.partial_tile(i)) apply_mask_bits<kN>(sc, visible);
        }
        softmax_step<kN, kGeneral>(sc, st, f);
      };

      // The GEMMs of one step, issued in this warpgroup's turn (K is waited for before the turn):
      // S = Q K^T on the current K slot, O += P V on the current V slot.
      auto issue_qk = [&] {
        wgmma_fence();
        gemm_qk<T, kD, kN>(sc, q_rows, smem_u32(sh.k(k_ring.slot)));
        wgmma_commit();
      };
      auto issue_pv = [&] {
        barrier_wait(&bars.v_full[v_ring.slot], v_ring.phase);
        wgmma_fence();
        gemm_pv<T, kD, kN>(o, pw, smem_u32(sh.v(v_ring.slot)));
        wgmma_commit();
      };

      int n = next_visit(0);
      barrier_wait(&bars.k_full[k_ring.slot], k_ring.phase);
      named_sync(my_turn, kTurnThreads);
      issue_qk();
      named_arrive(next_turn, kTurnThreads);
      evaluate_mask(0, n);
      wgmma_wait<0>();
      fence_operands(sc);
      release(bars.k_empty, k_ring);
      scores_to_weights(0, n);
      weights_to_operand<T, kN>(sc, pw);

      for (int i = 1; i < walk.count; ++i) {
        n = next_visit(i);
        barrier_wait(&bars.k_full[k_ring.slot], k_ring.phase);
        named_sync(my_turn, kTurnThreads);
        issue_qk();
        rescale_output<kD>(o, st);  // while S runs
        issue_pv();
        named_arrive(next_turn, kTurnThreads);
        evaluate_mask(i, n);
        wgmma_wait<1>();  // S(n) is ready; P V(n + 1) may still run
        fence_operands(sc);
        release(bars.k_empty, k_ring);
        scores_to_weights(i, n);
        wgmma_wait<0>();
        fence_operands(o);
        fence_operands(pw);
        release(bars.v_empty, v_ring);
        weights_to_operand<T, kN>(sc, pw);
      }

      release_q_early();
      rescale_output<kD>(o, st);
      named_sync(my_turn, kTurnThreads);
      issue_pv();
      named_arrive(next_turn, kTurnThreads);
      wgmma_wait<0>();
      fence_operands(o);
      release(bars.v_empty, v_ring);
    } else {
      release_q_early();
    }

    // A tile cut in two (the shared tail): hand this half's state over, or take the other's.
    if (split.hand_over_or_merge<kD>(p.tail, u, cw, tid, epilogue, o, st)) {
      if (!kSeparateOutput && tid == 0) barrier_arrive(&bars.q_empty);
      continue;
    }

    // Epilogue: normalise, write the LSE, stage O (this warpgroup's 64 rows), store it.
    constexpr float kLn2 = 0.69314718055994530942f;
    float inv[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const float sum = quad_sum(st.sum[half]);
      // sum == 0 only when no key is visible; NaN sums fall through and propagate.
      inv[half] = sum == 0.f ? 0.f : 1.f / sum;
      const int i = row0 + 8 * half;
      if (f.lse != nullptr && (lane & 3) == 0 && i < s.q_len) {
        f.lse[w.b * f.lse_sb + w.h * f.lse_sh +
              static_cast<std::int64_t>(s.q_start + i) * f.lse_sq] =
            sum == 0.f ? -INFINITY : (st.max[half] + __log2f(sum)) * kLn2;
      }
    }
    // The staging rows are free once the last tile's store has read them (own buffer) or every
    // warp's last GEMM has read the Q rows under them (staged over Q).
    if (kSeparateOutput && tid == 0) tma_store_wait_read();
    named_sync(epilogue, 128);
    stage_output<T, kD>(sh.o(), cw, warp, lane, o, inv, [](int) { return 1.f; });
    fence_async_shared();
    named_sync(epilogue, 128);
    const int out_row = m0 + cw * 64;
    if (f.cu_q == nullptr) {
      if (tid == 0) {
        store_staged_rows<kD>(to, sh.o(), cw, out_row, w.h, w.b);
        if constexpr (!kSeparateOutput) {
          tma_store_wait_read();
          barrier_arrive(&bars.q_empty);
        }
      }
    } else {
      // Packed sequences: a TMA box would run on into the next sequence's rows, so the rows
      // of this one are stored one 16-byte chunk per thread.
      constexpr int kChunks = kD / 8;
      T* out = static_cast<T*>(f.out) + w.h * f.o_sh;
      for (int idx = tid; idx < 64 * kChunks; idx += 128) {
        const int r = idx / kChunks, c = idx % kChunks;
        if (out_row + r < s.q_len && c * 8 < f.D) {
          const unsigned char* at = sh.o() + (c / 8) * kBlockM * kRowBytes +
                                    (cw * 64 + r) * kRowBytes + ((c % 8) ^ (r % 8)) * 16;
          *reinterpret_cast<uint4*>(out + (s.q_start + out_row + r) * f.o_ss + c * 8) =
              *reinterpret_cast<const uint4*>(at);
        }
      }
      named_sync(epilogue, 128);
      if (!kSeparateOutput && tid == 0) barrier_arrive(&bars.q_empty);
    }
  }
  split.finish(p.tail, cw, tid);
  if (tid == 0) tma_store_wait();
}

// ---- the kernel -----------------------------------------------------------------------------

template <class T, int kD, bool kGeneral, class Mods = NoMods>
__global__ void __launch_bounds__(kThreads, 1)
    flash3_fwd_kernel(const __grid_constant__ CUtensorMap tq,
                      const __grid_constant__ CUtensorMap tk,
                      const __grid_constant__ CUtensorMap tv,
                      const __grid_constant__ CUtensorMap to,
                      const __grid_constant__ Flash3Params p) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ unsigned char smem_raw[];
  const std::uint32_t raw = smem_u32(smem_raw);
  const Shared<kD> sh{smem_raw + ((raw + 1023) & ~1023u) - raw};
  const int warpgroup = static_cast<int>(threadIdx.x) / 128;

  if (threadIdx.x == 0) {
    // Q frees per warp after its last S (own output buffer) or per warpgroup after its store.
    init_barriers(sh.bars(), (Tiles<kD>::kSeparateOutput ? 4 : 1) * kConsumerWarpgroups, &tq, &tk,
                  &tv, &to);
  }
  __syncthreads();

  if (warpgroup == 0) {
    registers_release<kProducerRegisters>();
    if (threadIdx.x == 0) produce<kD, Mods::kMaskMod>(&tq, &tk, &tv, p, sh);
  } else {
    registers_claim<kConsumerRegisters>();
    consume<T, kD, kGeneral, Mods>(warpgroup - 1, &to, p, sh);
  }
#endif
}

}  // namespace attend::flash3
