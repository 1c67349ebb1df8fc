// Host side of the shared tail: plan, workspace layout, flags cleared before each launch.
#include "backends/flash3/tail.hpp"

#include "backends/flash3/tiles.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::flash3 {
namespace {

// Slot i is the boundary where block i's run starts (1 .. grid - 1 are used).
std::size_t partial_bytes(int grid, int kernel_dim) {
  const std::size_t per_thread = (static_cast<std::size_t>(kernel_dim) / 8 + 1) * 16;
  return cuda::align_up((grid + 1) * kConsumerWarpgroups * 128 * per_thread);
}
std::size_t flag_bytes(int grid) {
  return (grid + 1) * kConsumerWarpgroups * sizeof(unsigned);
}

}  // namespace

bool uniform_tiles(const flash::FlashParams& f) {
  return f.cu_q == nullptr && f.cu_k == nullptr && f.window_left < 0 && f.window_right < 0 &&
         f.Sk > 0;
}

StreamTail plan_tail(const Flash3Params& p, int grid, int key_tile) {
  const flash::FlashParams& f = p.f;
  StreamTail tail;
  if (!uniform_tiles(f) || grid <= 0 || p.tiles <= grid || p.tiles % grid == 0) return tail;
  const int tiles = grid + p.tiles % grid, key_blocks = (f.Sk + key_tile - 1) / key_tile;
  // The kernel splits the tail's visits among the blocks in int arithmetic.
  if (static_cast<long long>(tiles) * key_blocks * grid >= (1LL << 31)) return tail;
  tail.tiles = tiles;
  tail.key_blocks = key_blocks;
  return tail;
}

std::size_t tail_bytes(const StreamTail& tail, int grid, int kernel_dim) {
  return tail.tiles == 0 ? 0 : partial_bytes(grid, kernel_dim) + flag_bytes(grid);
}

void place_tail(StreamTail& tail, void* workspace, int grid, int kernel_dim, cudaStream_t stream) {
  auto* at = static_cast<char*>(workspace);
  tail.partials = reinterpret_cast<float*>(at);
  tail.ready = reinterpret_cast<unsigned*>(at + partial_bytes(grid, kernel_dim));
  ATTEND_CUDA_CHECK(cudaMemsetAsync(tail.ready, 0, flag_bytes(grid), stream));
}

}  // namespace attend::flash3
