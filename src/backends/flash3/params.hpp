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
  // Partial tile j of row r has its mask bits in slot slots[r·key_tiles + j] of `bits` (-1:
  // none, the kernel calls mask_mod): mask_words(block_n) words per consumer thread, the 256
  // threads' words adjacent (rtc/flex_device.cuh: block_mask_kernel writes them). Both null
  // when the block mask keeps no bits.
  const int* slots = nullptr;
  const unsigned* bits = nullptr;
  int batches = 1, heads = 1, key_tiles = 0;
};

struct FlexArgs {
  static constexpr int kMaxTensors = 8;
  FlexTensorArg tensors[kMaxTensors];
  FlexBlockList blocks;
};

// The shared tail of a problem whose tiles all visit the same key blocks (no band, no packed
// sequences, no block list). Tiles past the last full round of the grid would leave most blocks
// idle at the end, so the last `tiles` tiles (one round plus the leftover) are cut into equal
// runs of key blocks, one per block (schedule.cuh: unit_at). A tile cut in two is finished by the
// block that runs its first key blocks, with the state the block that ran the rest hands over
// through `partials` (handoff.cuh).
struct StreamTail {
  int tiles = 0;              // 0: every tile is whole
  int key_blocks = 0;         // visits of every tile
  float* partials = nullptr;  // per slot: every consumer thread's O, row max and row sum
  unsigned* ready = nullptr;  // per slot and consumer warpgroup: 1 once its partial is out
};

// The tile queue of a problem whose tiles differ in length (a causal or window band, packed
// sequences). A fixed share of tiles per block leaves some blocks with more work than others
// (5-80% above the mean in a simulation of common causal shapes), so instead each block's
// producer takes its next tile from a global counter when it is ready for one. The queue's
// order puts the longest tiles first within each group of `group` (batch, head) pairs, so the
// last tiles taken are short ones, while the blocks running at one time still share the K and
// V of a few heads in L2 (schedule.cuh: tile_at).
struct TileQueue {
  unsigned* next = nullptr;  // null: the fixed order; else tiles taken so far past the first round
  int group = 0;  // (batch, head) pairs per group (divides B · Hq, a multiple of GQA's); 0: none
};

struct Flash3Params {
  flash::FlashParams f;
  int m_blocks = 0;  // query tiles per (sequence, head), over the longest sequence
  int tiles = 0;     // m_blocks · Hq · B
  StreamTail tail;
  TileQueue queue;
  FlexArgs flex;  // read only by flex instantiations
};

}  // namespace attend::flash3
