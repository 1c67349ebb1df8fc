// The parameters of the block-mask kernel (rtc/flex_device.cuh), shared by the host that
// launches it and the run-time compiled source.
#pragma once

namespace attend::flex_device {

struct BlockMaskParams {
  int* counts;   // [rows][2]: partial, full
  int* partial;  // [rows][key_tiles]
  int* full;     // [rows][key_tiles]
  // A partial tile's mask, evaluated once here so the attention kernel loads it instead of
  // calling mask_mod: slots[r][j] is the bit slot of partial tile j of row r (-1: none left),
  // each slot flash3::kMaskWords(block_n) words for each of the 256 consumer threads.
  int* slots;           // [rows][key_tiles]
  unsigned* bits;       // [bit_slots][words][256]
  unsigned* bits_used;  // slots taken so far (zero before the kernel; unused without slots)
  int bit_slots;
  int batches, heads, m_blocks, key_tiles;
  int block_m, block_n, Sq, Sk;
};

}  // namespace attend::flex_device
