// Host side of the tile queue: when a problem uses one, its groups of (batch, head) pairs, and
// its counter cleared before each launch.
#include "backends/flash3/queue.hpp"

#include "backends/flash3/tail.hpp"
#include "cuda/check.hpp"

namespace attend::flash3 {

TileQueue plan_queue(const Flash3Params& p, int grid) {
  TileQueue queue;
  const flash::FlashParams& f = p.f;
  if (uniform_tiles(f) || grid <= 0 || p.tiles <= grid || p.m_blocks <= 0) return queue;
  // Groups large enough that one round of the grid stays within about one group (longest
  // first over that many tiles evens the blocks out), whole GQA groups (they share K and V),
  // and dividing the pairs, so that no short group comes last with long tiles.
  const int pairs = p.tiles / p.m_blocks;
  const int need = (grid + p.m_blocks - 1) / p.m_blocks;
  const int step = f.group > 0 ? f.group : 1;
  int g = step;
  while (g < pairs && (g < need || pairs % g != 0)) g += step;
  queue.group = g < pairs ? g : pairs;
  return queue;
}

void place_queue(TileQueue& queue, void* workspace, cudaStream_t stream) {
  queue.next = static_cast<unsigned*>(workspace);
  ATTEND_CUDA_CHECK(cudaMemsetAsync(queue.next, 0, sizeof(unsigned), stream));
}

}  // namespace attend::flash3
