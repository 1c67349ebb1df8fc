// A consumer warpgroup's output rows into the shared-memory tile its TMA store reads, and the
// store: 64-column panels of 128-byte rows, the 16-byte chunks of row r XOR-permuted by r % 8
// (TMA's 128-byte swizzle), one panel kBlockM rows tall.
#pragma once

#include <cstdint>

#include "backends/flash/primitives.cuh"
#include "backends/flash3/sync.cuh"
#include "backends/flash3/tiles.hpp"
#include "backends/flash3/wgmma.cuh"

namespace attend::flash3 {

// Writes warpgroup cw's accumulator o (softmax.cuh's layout: rows g and g + 8, per 8-column
// block nb the columns nb·8 + 2·(lane % 4) + {0, 1}) times inv[row half] · column_scale(column)
// as T into `tile`.
template <class T, int kD, class ColumnScale>
__device__ __forceinline__ void stage_output(unsigned char* tile, int cw, int warp, int lane,
                                             const float (&o)[kD / 2], const float (&inv)[2],
                                             ColumnScale column_scale) {
#pragma unroll
  for (int nb = 0; nb < kD / 8; ++nb) {
    const int col = nb * 8 + (lane & 3) * 2;
    const float scale[2] = {column_scale(col), column_scale(col + 1)};
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = warp * 16 + lane / 4 + 8 * half;  // row within the warpgroup's 64
      const int chunk = (nb % 8) ^ (r % 8);
      unsigned char* at = tile + (nb / 8) * kBlockM * kRowBytes + (cw * 64 + r) * kRowBytes +
                          chunk * 16 + (lane & 3) * 4;
      *reinterpret_cast<std::uint32_t*>(at) =
          flash::pack2<T>(o[nb * 4 + half * 2] * (inv[half] * scale[0]),
                          o[nb * 4 + half * 2 + 1] * (inv[half] * scale[1]));
    }
  }
}

// Thread 0 of warpgroup cw stores its 64 staged rows, every panel, at (row, h, b) of `map` and
// commits them as one bulk group.
template <int kD>
__device__ __forceinline__ void store_staged_rows(const CUtensorMap* map, const unsigned char* tile,
                                                  int cw, int row, int h, int b) {
#pragma unroll
  for (int c = 0; c < kD / kPanelCols; ++c) {
    tma_store(map, tile + c * kBlockM * kRowBytes + cw * 64 * kRowBytes, c * kPanelCols, row, h, b);
  }
  tma_store_commit();
}

}  // namespace attend::flash3
