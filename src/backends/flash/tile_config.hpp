// Tile shapes per head dim: the only compile-time choice besides the dtype and the feature
// switch. Each warp owns kWarpRows = 16·kMTiles query rows; K and V tiles of kBlockN keys are
// shared by the block. Register use grows with kMTiles·(kHeadDim + kBlockN), so wide heads
// use more warps with one 16-row tile each.
#pragma once

namespace attend::flash {

template <int kHeadDim>
struct TileConfig;

template <int M, int N, int W, int MinBlocks>
struct Tiles {
  static constexpr int kBlockM = M;  // query rows per block
  static constexpr int kBlockN = N;  // keys per tile
  static constexpr int kWarps = W;
  static constexpr int kThreads = W * 32;
  static constexpr int kMTiles = M / (16 * W);  // 16-row MMA tiles per warp
  static constexpr int kMinBlocks = MinBlocks;  // blocks per SM the register budget aims at
  static_assert(M % (16 * W) == 0 && N % 16 == 0);
};

template <>
struct TileConfig<32> : Tiles<128, 128, 4, 2> {};
template <>
struct TileConfig<64> : Tiles<128, 128, 4, 2> {};
template <>
struct TileConfig<96> : Tiles<128, 64, 4, 2> {};
template <>
struct TileConfig<128> : Tiles<128, 64, 4, 2> {};
template <>
struct TileConfig<192> : Tiles<128, 64, 8, 1> {};
template <>
struct TileConfig<256> : Tiles<128, 64, 8, 1> {};

// The masks variant's tiles: a tile's mask terms are loaded beside its scores, so heads up to
// 128 take one 16-row tile per warp to stay inside the register budget (two spill).
template <int kHeadDim>
struct MaskTileConfig : TileConfig<kHeadDim> {};
template <>
struct MaskTileConfig<32> : Tiles<64, 64, 4, 2> {};
template <>
struct MaskTileConfig<64> : Tiles<64, 64, 4, 2> {};
template <>
struct MaskTileConfig<96> : Tiles<64, 64, 4, 2> {};
template <>
struct MaskTileConfig<128> : Tiles<64, 64, 4, 2> {};

}  // namespace attend::flash
