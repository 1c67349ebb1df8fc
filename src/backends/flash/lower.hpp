// From a resolved Problem to the flash parameter block, and the key-padding step that turns a
// padded dense K/V into packed sequences first. Shared by the flash and flash3 launchers.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "attend/problem.hpp"
#include "backends/flash/params.hpp"

namespace attend::flash {

// Pointers, strides, sizes, cu_seqlens, band and softmax constants; no split, no workspace.
FlashParams lower(const Problem& problem);

// Workspace bytes pack_padded_keys needs for this problem (which has a key-padding mask).
std::size_t key_packing_bytes(const Problem& problem);

// Packs the keys each sequence's mask keeps into `workspace` (key_packing_bytes of it) and
// points p's K, V and cu_k at the packed sequences.
void pack_padded_keys(const Problem& problem, FlashParams& p, void* workspace, cudaStream_t stream);

}  // namespace attend::flash
