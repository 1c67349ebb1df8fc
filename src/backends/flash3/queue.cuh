// How a block's producer and consumer warpgroups agree on the tiles they work on. Without a
// tile queue each derives its k-th unit itself (schedule.cuh: unit_at). With one (params.hpp:
// TileQueue), the producer thread takes each tile from the global counter when it is ready to
// load it and posts it in one of two shared-memory slots, where the consumer threads read it; a
// slot is posted again once every consumer thread has read it.
#pragma once

#include <cstdint>

#include "backends/flash3/params.hpp"
#include "backends/flash3/schedule.cuh"
#include "backends/flash3/sync.cuh"
#include "backends/flash3/tiles.hpp"

namespace attend::flash3 {

struct QueueSlots {
  std::uint64_t full[2], empty[2];
  int tile[2];
};

__device__ __forceinline__ void queue_init(QueueSlots& q) {
  for (int i = 0; i < 2; ++i) {
    barrier_init(&q.full[i], 1);
    // One arrival per consumer thread, each after its own read: once per tile, it costs little,
    // and it orders every read before the next post without relying on a warp's election.
    barrier_init(&q.empty[i], 128 * kConsumerWarpgroups);
  }
}

__device__ __forceinline__ Unit whole_tile(int t) {
  Unit u;
  u.t = t;
  return u;
}

// The producer thread's k-th unit. A block's first tile is its index; each later one is the
// next untaken tile of the queue. The mbarrier arrival releases the slot's write to its readers.
template <bool kList>
__device__ __forceinline__ bool post_unit(int k, const Flash3Params& p, QueueSlots& q, Unit& u) {
  if (p.queue.next == nullptr) return unit_at<kList>(k, p, u);
  const int slot = k & 1;
  const std::uint32_t parity = (k >> 1) & 1;
  barrier_wait(&q.empty[slot], parity ^ 1);
  const int t = k == 0 ? static_cast<int>(blockIdx.x)
                       : static_cast<int>(gridDim.x + atomicAdd(p.queue.next, 1u));
  q.tile[slot] = t;
  barrier_arrive(&q.full[slot]);
  u = whole_tile(t);
  return t < p.tiles;
}

// A consumer thread's k-th unit.
template <bool kList>
__device__ __forceinline__ bool read_unit(int k, const Flash3Params& p, QueueSlots& q, Unit& u) {
  if (p.queue.next == nullptr) return unit_at<kList>(k, p, u);
  const int slot = k & 1;
  barrier_wait(&q.full[slot], (k >> 1) & 1);
  const int t = q.tile[slot];
  barrier_arrive(&q.empty[slot]);
  u = whole_tile(t);
  return t < p.tiles;
}

}  // namespace attend::flash3
