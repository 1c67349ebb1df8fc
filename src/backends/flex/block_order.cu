// A block mask's rows, most visited key tiles first: flash3's blocks take the tiles of a block
// list in that order (schedule.cuh: block_tile), so the longest query tiles start first and the
// short ones fill the tail. A counting sort in one block; rows with equal counts keep no
// particular order (each tile's result does not depend on which block computes it).
#include <algorithm>
#include <cstdint>

#include "backends/flex/block_mask.hpp"
#include "cuda/check.hpp"

namespace attend::flex {
namespace {

constexpr int kThreads = 1024;
constexpr int kMaxBins = 8192;  // 32 KiB of shared memory; longer rows share bins

__global__ void __launch_bounds__(kThreads)
    block_order_kernel(const int* counts, int* order, int rows, int key_tiles, int bins) {
  extern __shared__ int slot[];  // per bin: how many rows, then where the bin's rows start
  const auto bin_of = [&](int r) {
    const long long visits = counts[2 * r] + counts[2 * r + 1];
    return static_cast<int>(visits * (bins - 1) / max(key_tiles, 1));
  };
  for (int i = static_cast<int>(threadIdx.x); i < bins; i += kThreads) slot[i] = 0;
  __syncthreads();
  for (int r = static_cast<int>(threadIdx.x); r < rows; r += kThreads)
    atomicAdd(&slot[bin_of(r)], 1);
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int i = bins - 1, start = 0; i >= 0; --i) {
      const int n = slot[i];
      slot[i] = start;
      start += n;
    }
  }
  __syncthreads();
  for (int r = static_cast<int>(threadIdx.x); r < rows; r += kThreads) {
    order[atomicAdd(&slot[bin_of(r)], 1)] = r;
  }
}

}  // namespace

void launch_block_order(const BlockMaskShape& shape, const BlockMaskBuffers& buffers,
                        cudaStream_t stream) {
  const int bins = static_cast<int>(std::min<std::int64_t>(shape.key_tiles + 1, kMaxBins));
  block_order_kernel<<<1, kThreads, bins * sizeof(int), stream>>>(
      buffers.counts, buffers.order, static_cast<int>(shape.rows()),
      static_cast<int>(shape.key_tiles), bins);
  ATTEND_CUDA_CHECK(cudaGetLastError());
}

}  // namespace attend::flex
