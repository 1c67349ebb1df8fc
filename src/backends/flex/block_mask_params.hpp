// The parameters of the block-mask kernel (rtc/flex_device.cuh), shared by the host that
// launches it and the run-time compiled source.
#pragma once

namespace attend::flex_device {

struct BlockMaskParams {
  int* counts;   // [rows][2]: partial, full
  int* partial;  // [rows][key_tiles]
  int* full;     // [rows][key_tiles]
  int batches, heads, m_blocks, key_tiles;
  int block_m, block_n, Sq, Sk;
};

}  // namespace attend::flex_device
