// Host side of the tile queue (params.hpp: TileQueue): whether a problem takes its tiles from
// one, the size of its head groups, and its counter.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "backends/flash3/params.hpp"

namespace attend::flash3 {

// Workspace bytes of a queue's counter (256, so that what follows stays aligned).
constexpr std::size_t kQueueBytes = 256;

// The queue of `p` (its f, m_blocks and tiles set) on `grid` blocks: used when the tiles differ
// in length (tail.hpp: uniform_tiles is false) and outnumber the blocks. Its group is 0
// otherwise; its counter is placed by place_queue.
TileQueue plan_queue(const Flash3Params& p, int grid);

// Points a planned queue at `workspace` (kQueueBytes of it) and clears its counter on `stream`.
void place_queue(TileQueue& queue, void* workspace, cudaStream_t stream);

}  // namespace attend::flash3
