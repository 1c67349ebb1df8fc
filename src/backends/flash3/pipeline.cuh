// The slots a warp-specialised block passes its tiles through: the mbarriers of Q and of each
// K and V slot (plus the tile queue's), their initialisation, and the ring a side walks its
// slots with. Shared by the flash3 and sage_fp8 kernels.
#pragma once

#include <cuda.h>

#include <cstdint>

#include "backends/flash3/queue.cuh"
#include "backends/flash3/sync.cuh"
#include "backends/flash3/tiles.hpp"

namespace attend::flash3 {

// Named barriers (0 is __syncthreads): the GEMM-issue turn of each consumer warpgroup, and each
// warpgroup's own epilogue.
constexpr int kTurnBarrier = 1;
constexpr int kEpilogueBarrier = 3;

template <int kStages>
struct Barriers {
  std::uint64_t q_full, q_empty;
  std::uint64_t k_full[kStages], k_empty[kStages];
  std::uint64_t v_full[kStages], v_empty[kStages];
  QueueSlots queue;
};

// A ring of kStages slots: the slot in use and the parity of its current fill.
template <int kStages>
struct Ring {
  int slot = 0;
  std::uint32_t phase = 0;
  __device__ __forceinline__ void advance() {
    if (++slot == kStages) slot = 0, phase ^= 1;
  }
};

// One thread sets the barriers up: the fills complete on one (expect-tx) arrival, a K or V slot
// frees once every consumer warp has arrived, Q after q_empty_arrivals. Then it prefetches the
// tensor maps.
template <int kStages>
__device__ __forceinline__ void init_barriers(Barriers<kStages>& bars, int q_empty_arrivals,
                                              const CUtensorMap* tq, const CUtensorMap* tk,
                                              const CUtensorMap* tv, const CUtensorMap* to) {
  barrier_init(&bars.q_full, 1);
  barrier_init(&bars.q_empty, q_empty_arrivals);
  for (int i = 0; i < kStages; ++i) {
    barrier_init(&bars.k_full[i], 1);
    barrier_init(&bars.v_full[i], 1);
    barrier_init(&bars.k_empty[i], 4 * kConsumerWarpgroups);  // one arrival per warp
    barrier_init(&bars.v_empty[i], 4 * kConsumerWarpgroups);
  }
  queue_init(bars.queue);
  barrier_init_fence();
  prefetch_tensor_map(tq);
  prefetch_tensor_map(tk);
  prefetch_tensor_map(tv);
  prefetch_tensor_map(to);
}

}  // namespace attend::flash3
