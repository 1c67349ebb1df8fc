// What a flash3 kernel takes besides its four tensor maps: the flash parameter block (shapes,
// strides, cu_seqlens, softmax constants), the persistent schedule's extent, and what a flex
// kernel's score and mask functions read.
#pragma once

#include "backends/flash/params.hpp"

namespace attend::flash3 {

// A tensor a flex function reads by name (element strides; unused dimensions have extent 1).
struct FlexTensorArg {
  const void* data = nullptr;
  long long stride[4] = {0, 0, 0, 0};
};

// The key tiles each query tile visits, from a flex block mask: for the tile (b, h, m) of a
// mask over (batches, heads) (1 where the mask ignores b or h), counts[2·r] partial tiles listed
// at partial[r·key_tiles ...] and counts[2·r + 1] full ones at full[r·key_tiles ...], with
// r = (b' · heads + h') · m_blocks + m.
struct FlexBlockList {
  const int* counts = nullptr;
  const int* partial = nullptr;
  const int* full = nullptr;
  const int* order = nullptr;  // [rows]: the rows, most key tiles first
  int batches = 1, heads = 1, key_tiles = 0;
};

struct FlexArgs {
  static constexpr int kMaxTensors = 8;
  FlexTensorArg tensors[kMaxTensors];
  FlexBlockList blocks;
};

struct Flash3Params {
  flash::FlashParams f;
  int m_blocks = 0;  // query tiles per (sequence, head), over the longest sequence
  int tiles = 0;     // m_blocks · Hq · B
  FlexArgs flex;     // read only by flex instantiations
};

}  // namespace attend::flash3
