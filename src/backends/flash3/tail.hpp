// Host side of the shared tail (params.hpp: StreamTail): whether a problem gets one, and its
// workspace (the handed-over partials and their flags).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "backends/flash3/params.hpp"

namespace attend::flash3 {

// Whether every tile of f visits the same key blocks: no window or causal band, no packed
// sequences, some keys.
bool uniform_tiles(const flash::FlashParams& f);

// The tail of `p` (its f and tiles set) on `grid` blocks: one round plus the leftover tiles,
// when every tile visits the same key blocks (no window or causal band, no packed sequences)
// and the tiles do not fill the last round. Its tiles and key_blocks are 0 otherwise. A flex
// block list makes the tiles uneven: flex does not plan a tail.
StreamTail plan_tail(const Flash3Params& p, int grid, int key_tile);

// Workspace bytes of a planned tail with `grid` blocks and kernel head dim kernel_dim.
std::size_t tail_bytes(const StreamTail& tail, int grid, int kernel_dim);

// Points the tail at `workspace` (tail_bytes of it) and clears its flags on `stream`.
void place_tail(StreamTail& tail, void* workspace, int grid, int kernel_dim, cudaStream_t stream);

}  // namespace attend::flash3
