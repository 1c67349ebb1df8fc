// What a flash3 kernel takes besides its four tensor maps: the flash parameter block (shapes,
// strides, cu_seqlens, softmax constants) and the persistent schedule's extent.
#pragma once

#include "backends/flash/params.hpp"

namespace attend::flash3 {

struct Flash3Params {
  flash::FlashParams f;
  int m_blocks = 0;  // query tiles per (sequence, head), over the longest sequence
  int tiles = 0;     // m_blocks · Hq · B
};

}  // namespace attend::flash3
