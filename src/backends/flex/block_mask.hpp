// Block masks on the device: their shape for a problem (tiles over only the batches and heads
// the mask_mod names), their buffers, the list flash3's kernel walks, and the FlexBlockMask a
// user keeps across calls.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "attend/flex.hpp"
#include "attend/problem.hpp"
#include "backends/flash3/params.hpp"

namespace attend::flex {

struct BlockMaskBuffers {
  int* counts = nullptr;     // [rows][2]
  int* partial = nullptr;    // [rows][key_tiles]
  int* full = nullptr;       // [rows][key_tiles]
  int* order = nullptr;      // [rows]: row indices, most visited first
  int* slots = nullptr;      // [rows][key_tiles]: each partial tile's bit slot, or -1
  unsigned* bits = nullptr;  // [bit_slots()][mask words][256]
  unsigned* bits_used = nullptr;
};

// Partial tiles of a mask that reads tensors get their mask bits kept while slots last: up to
// this many per row of the mask on average, and at most kMaxMaskBitBytes in all; the rest
// call mask_mod in the kernel.
constexpr std::int64_t kMaskBitSlotsPerRow = 8;
constexpr std::int64_t kMaxMaskBitBytes = std::int64_t{64} << 20;

struct BlockMaskShape {
  std::int64_t batches = 1, heads = 1, m_blocks = 0, key_tiles = 0;
  int block_n = 0;
  bool keep_bits = false;  // the mask reads a tensor: partial tiles keep their bits
  std::int64_t rows() const noexcept { return batches * heads * m_blocks; }
  std::int64_t bit_slot_bytes() const noexcept;  // one partial tile's bits, all threads
  std::int64_t bit_slots() const noexcept;
  std::size_t bytes() const noexcept;
  BlockMaskBuffers place(void* base) const noexcept;  // carves bytes() at base
  flash3::FlexBlockList list(const BlockMaskBuffers& b) const noexcept;
  bool operator==(const BlockMaskShape&) const = default;
};

BlockMaskShape block_mask_shape(const Problem& p);

// The spec's tensors as the kernel reads them.
flash3::FlexArgs flex_args(const Problem& p);

// The list of a block mask the user built, after checking it was built for this problem.
flash3::FlexBlockList block_list_of(const FlexBlockMask& mask, const Problem& p,
                                    const BlockMaskShape& shape);

// Enqueues the block-mask kernel of p's module, writing `out` (in run.cpp, beside the module),
// then the ordering of its rows.
void launch_block_mask(const Problem& p, const BlockMaskShape& shape, const BlockMaskBuffers& out,
                       cudaStream_t stream);

// Enqueues the sort of the rows by visited tiles into buffers.order (block_order.cu).
void launch_block_order(const BlockMaskShape& shape, const BlockMaskBuffers& buffers,
                        cudaStream_t stream);

}  // namespace attend::flex
