// A tile of the shared tail cut between two blocks (schedule.cuh: unit_at). The block that runs
// the tile's last key blocks does so first and hands its unfinished state over through global
// memory: each consumer thread's O accumulator, row maxima and partial row sums, raw (not
// normalised). The block that runs the first key blocks takes it over at the end of its run,
// merges it like one more online-softmax step, and finishes the tile as usual. Thread (w, i)
// of one block hands over to thread (w, i) of the other, so no layout changes hands.
#pragma once

#include <cmath>

#include "backends/flash3/params.hpp"
#include "backends/flash3/schedule.cuh"
#include "backends/flash3/softmax.cuh"
#include "backends/flash3/sync.cuh"
#include "backends/flash3/tiles.hpp"

namespace attend::flash3 {

// Per slot and consumer warpgroup, float4 j of thread i sits at [j][i]: a warp's stores and
// loads are contiguous. The last float4 holds max[0], max[1], sum[0], sum[1].
template <int kD>
struct Handoff {
  static constexpr int kVectors = kD / 8 + 1;  // tail.cpp sizes the slots alike
  __device__ __forceinline__ static float4* at(const StreamTail& tail, int slot, int cw, int tid) {
    return reinterpret_cast<float4*>(tail.partials) +
           (slot * kConsumerWarpgroups + cw) * kVectors * 128 + tid;
  }
};

__device__ __forceinline__ unsigned* handoff_flag(const StreamTail& tail, int slot, int cw) {
  return &tail.ready[slot * kConsumerWarpgroups + cw];
}

// Writes this warpgroup's state to `slot`. Thread 0 of the warpgroup raises the slot's flag
// later (flag_raise publishes what the warpgroup wrote before this barrier); `barrier` is a
// named barrier of the warpgroup's 128 threads.
template <int kD>
__device__ __forceinline__ void hand_over(const StreamTail& tail, int slot, int cw, int tid,
                                          int barrier, const float (&o)[kD / 2],
                                          const RowState& st) {
  float4* at = Handoff<kD>::at(tail, slot, cw, tid);
#pragma unroll
  for (int j = 0; j < kD / 8; ++j) {
    __stcg(at + j * 128, make_float4(o[4 * j], o[4 * j + 1], o[4 * j + 2], o[4 * j + 3]));
  }
  __stcg(at + kD / 8 * 128, make_float4(st.max[0], st.max[1], st.sum[0], st.sum[1]));
  named_sync(barrier, 128);
}

// Waits for `slot`'s state and merges it into this warpgroup's: both halves' rows rescaled to
// the larger maximum, then added.
template <int kD>
__device__ __forceinline__ void take_over(const StreamTail& tail, int slot, int cw, int tid,
                                          int barrier, float (&o)[kD / 2], RowState& st) {
  if (tid == 0) flag_wait(handoff_flag(tail, slot, cw));
  named_sync(barrier, 128);
  const float4* at = Handoff<kD>::at(tail, slot, cw, tid);
  const float4 rows = __ldcg(at + kD / 8 * 128);
  const float other_max[2] = {rows.x, rows.y}, other_sum[2] = {rows.z, rows.w};
  float mine[2], theirs[2];
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const float mx = fmaxf(st.max[half], other_max[half]);
    const float base = mx == -INFINITY ? 0.f : mx;
    mine[half] = fast_exp2(st.max[half] - base);
    theirs[half] = fast_exp2(other_max[half] - base);
    st.sum[half] = st.sum[half] * mine[half] + other_sum[half] * theirs[half];
    st.max[half] = mx;
  }
#pragma unroll
  for (int j = 0; j < kD / 8; ++j) {
    const float4 x = __ldcg(at + j * 128);
    const float in[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int half = ((4 * j + e) / 2) % 2;  // the row of o[i] (softmax.cuh: rescale_output)
      o[4 * j + e] = o[4 * j + e] * mine[half] + in[e] * theirs[half];
    }
  }
}

// One consumer warpgroup's hand-overs across its units.
struct SplitTiles {
  bool handed = false;  // a hand-over whose flag is not up yet

  // After a unit's key blocks. A hand-over's flag goes up at the end of the next unit, when its
  // stores have drained, and before any wait for another block's flag, so no block waits on a
  // waiting block. Then the unit's state goes to the other block (true: the caller skips the
  // epilogue), or the other block's is merged in.
  template <int kD>
  __device__ __forceinline__ bool hand_over_or_merge(const StreamTail& tail, const Unit& u, int cw,
                                                     int tid, int barrier, float (&o)[kD / 2],
                                                     RowState& st) {
    if (handed) {
      if (tid == 0) flag_raise(handoff_flag(tail, blockIdx.x, cw));
      handed = false;
    }
    if (u.hands_over()) {
      hand_over<kD>(tail, blockIdx.x, cw, tid, barrier, o, st);
      handed = true;
      return true;
    }
    if (u.takes_over(tail)) take_over<kD>(tail, blockIdx.x + 1, cw, tid, barrier, o, st);
    return false;
  }

  // After the last unit: the last hand-over's flag.
  __device__ __forceinline__ void finish(const StreamTail& tail, int cw, int tid) const {
    if (handed && tid == 0) flag_raise(handoff_flag(tail, blockIdx.x, cw));
  }
};

}  // namespace attend::flash3
