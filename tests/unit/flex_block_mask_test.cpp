// The layout of a flex block mask on the host (no GPU needed): how many partial tiles keep
// their mask bits, and buffers that do not overlap inside the bytes asked for.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "backends/flex/block_mask.hpp"

namespace attend::flex {
namespace {

BlockMaskShape shape(std::int64_t heads, std::int64_t m_blocks, std::int64_t key_tiles,
                     int block_n) {
  BlockMaskShape s;
  s.heads = heads, s.m_blocks = m_blocks, s.key_tiles = key_tiles, s.block_n = block_n;
  s.keep_bits = true;
  return s;
}

TEST(FlexBlockMask, BitSlotsAreCapped) {
  EXPECT_EQ(shape(1, 64, 64, 128).bit_slot_bytes(), 2 * 256 * 4);
  EXPECT_EQ(shape(1, 64, 64, 64).bit_slot_bytes(), 256 * 4);
  EXPECT_EQ(shape(1, 64, 64, 128).bit_slots(), 64 * kMaskBitSlotsPerRow);
  EXPECT_EQ(shape(1, 10, 3, 128).bit_slots(), 30);  // fewer tiles than the per-row share
  // A mask over many heads stops at kMaxMaskBitBytes.
  EXPECT_EQ(shape(32, 256, 256, 128).bit_slots(), kMaxMaskBitBytes / (2 * 256 * 4));
  BlockMaskShape arithmetic = shape(1, 64, 64, 128);
  arithmetic.keep_bits = false;
  EXPECT_EQ(arithmetic.bit_slots(), 0);
  EXPECT_EQ(BlockMaskShape{}.bit_slots(), 0);
}

TEST(FlexBlockMask, BuffersFitTheirBytesWithoutOverlap) {
  for (const BlockMaskShape& s : {shape(3, 9, 11, 128), shape(1, 1, 1, 64), shape(2, 5, 7, 64)}) {
    std::vector<char> memory(s.bytes());
    char* base = memory.data();
    const BlockMaskBuffers b = s.place(base);
    const auto at = [&](const void* p) { return static_cast<const char*>(p) - base; };
    const std::int64_t rows = s.rows(), list = rows * s.key_tiles * 4;
    EXPECT_GE(at(b.partial) - at(b.counts), 2 * rows * 4);
    EXPECT_GE(at(b.full) - at(b.partial), list);
    EXPECT_GE(at(b.slots) - at(b.full), list);
    EXPECT_GE(at(b.order) - at(b.slots), list);
    EXPECT_GE(at(b.bits) - at(b.order), rows * 4);
    EXPECT_GE(at(b.bits_used) - at(b.bits), s.bit_slots() * s.bit_slot_bytes());
    EXPECT_LE(at(b.bits_used) + 4, static_cast<std::int64_t>(s.bytes()));
    EXPECT_EQ(at(b.bits) % 256, 0);
  }
}

}  // namespace
}  // namespace attend::flex
