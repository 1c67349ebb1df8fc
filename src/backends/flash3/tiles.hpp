// Tile shapes and shared-memory plan per head dim. A block is one producer warpgroup and two
// consumer warpgroups of 64 query rows each; K and V tiles of kBlockN keys pass through
// kStages slots each. Register use per consumer thread grows with kBlockN/2 (scores) +
// kBlockN/4 (P) + kHeadDim/2 (output); shared memory with kStages · 2 · kBlockN · kHeadDim.
#pragma once

namespace attend::flash3 {

constexpr int kConsumerWarpgroups = 2;
constexpr int kThreads = 128 * (1 + kConsumerWarpgroups);
constexpr int kBlockM = 64 * kConsumerWarpgroups;
// setmaxnreg budgets: the producer needs few; 24 + 2 · 240 = 504 <= 65536 / 128.
constexpr int kProducerRegisters = 24;
constexpr int kConsumerRegisters = 240;

template <int kHeadDim>
struct Tiles;

// kSeparateOutput: the output is staged in its own buffer, so a tile's Q slot frees as soon as
// its last S = Q K^T is done and the next tile's Q load overlaps the last P V and the
// epilogue. Where shared memory is short (D = 256) the output is staged over the tile's own Q
// rows instead, and Q frees only after the output store has read them.
template <int N, int Stages, bool SeparateOutput>
struct TileShape {
  static constexpr int kBlockN = N;
  static constexpr int kStages = Stages;
  static constexpr bool kSeparateOutput = SeparateOutput;
};

template <>
struct Tiles<64> : TileShape<128, 4, true> {};
template <>
struct Tiles<128> : TileShape<128, 2, true> {};
template <>
struct Tiles<256> : TileShape<64, 2, false> {};

// Byte offsets in the (1024-byte aligned) dynamic shared memory of one block.
template <int kD>
struct SmemPlan {
  static constexpr int kQBytes = kBlockM * kD * 2;
  static constexpr int kKVBytes = Tiles<kD>::kBlockN * kD * 2;  // one K or V slot
  static constexpr int kQ = 0;
  static constexpr int kK = kQ + kQBytes;
  static constexpr int kV = kK + Tiles<kD>::kStages * kKVBytes;
  static constexpr int kO = kV + Tiles<kD>::kStages * kKVBytes;  // == kQ without its own buffer
  static constexpr int kBarriers = kO + (Tiles<kD>::kSeparateOutput ? kQBytes : 0);
  // Q, K and V's mbarriers, then the tile queue's four and its two posted tiles (8 bytes).
  static constexpr int kBarrierCount = 2 + 4 * Tiles<kD>::kStages + 5;
  static constexpr int kBytes = kBarriers + kBarrierCount * 8;
  static constexpr int kAlloc = kBytes + 1024;  // room to align the base
  static_assert(kAlloc <= 227 * 1024, "flash3 tile plan exceeds shared memory");
};

// 32-bit words of one consumer thread's mask bits over a key tile of block_n keys (one bit per
// score it holds: block_n / 2).
constexpr int mask_words(int block_n) {
  return (block_n / 2 + 31) / 32;
}

// The key tile and the dynamic shared memory of the kernel_dim instantiation (64, 128 or 256),
// for hosts that pick the instantiation at run time.
constexpr int key_tile(int kernel_dim) {
  return kernel_dim == 64    ? Tiles<64>::kBlockN
         : kernel_dim == 128 ? Tiles<128>::kBlockN
                             : Tiles<256>::kBlockN;
}
constexpr int shared_memory_bytes(int kernel_dim) {
  return kernel_dim == 64    ? SmemPlan<64>::kAlloc
         : kernel_dim == 128 ? SmemPlan<128>::kAlloc
                             : SmemPlan<256>::kAlloc;
}

// Problems with too few query tiles to fill the GPU and long key ranges go to flash's split-KV
// kernel instead (flash3 has no split): fewer tiles than half the SMs, at least this many keys.
constexpr long long kSplitKeysMin = 1024;
constexpr bool prefers_split_kv(long long tiles, int sm_count, long long keys) {
  return tiles * 2 <= sm_count && keys >= kSplitKeysMin;
}

}  // namespace attend::flash3
