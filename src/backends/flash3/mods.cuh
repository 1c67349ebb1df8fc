// The score and mask functions a flash3 instantiation applies to each tile of scores. The
// built-in kernels take none (NoMods); flex kernels, compiled at run time, supply a policy with
// the same members from the user's source.
#pragma once

#include "backends/flash3/params.hpp"
#include "backends/flash3/tiles.hpp"

namespace attend::flash3 {

struct NoMods {
  static constexpr bool kScoreMod = false;  // score(): a new score from the scaled q·k
  static constexpr bool kMaskMod = false;   // visible(): whether a query sees a key
  __device__ __forceinline__ static float score(float s, int, int, int, int, const FlexArgs&) {
    return s;
  }
  __device__ __forceinline__ static bool visible(int, int, int, int, const FlexArgs&) {
    return true;
  }
};

// Calls f(i, q, kv) for each element i of one warpgroup's score accumulator (the layout of
// softmax.cuh: rows row0 and row0 + 8, keys from n0). Positions past the sequence are clamped
// into it for the call (their scores are masked afterwards), so the flex functions never index
// their tensors out of range.
template <int kN, class F>
__device__ __forceinline__ void for_each_position(int row0, int n0, int lane, int q_len, int k_len,
                                                  F&& f) {
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int q = min(row0 + 8 * half, q_len - 1);
#pragma unroll
    for (int nb = 0; nb < kN / 8; ++nb)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        f(nb * 4 + half * 2 + e, q, min(n0 + nb * 8 + (lane & 3) * 2 + e, k_len - 1));
      }
  }
}

template <int kN, class F>
__device__ __forceinline__ void for_each_score(float (&s)[kN / 2], int row0, int n0, int lane,
                                               int q_len, int k_len, F&& f) {
  for_each_position<kN>(row0, n0, lane, q_len, k_len,
                        [&](int i, int q, int kv) { f(s[i], q, kv); });
}

// Which of a thread's scores of one key tile the mask_mod keeps, one bit each. The mask does not
// depend on the scores, so it is evaluated while the tile's QK^T GEMM runs, and the latency of
// the tensors it reads hides under the GEMM.
template <int kN>
struct MaskBits {
  static constexpr int kWords = mask_words(kN);
  std::uint32_t word[kWords];
};

template <class Mods, int kN>
__device__ __forceinline__ MaskBits<kN> evaluate_mask_mod(const FlexArgs& args, int b, int h,
                                                          int row0, int n0, int lane, int q_len,
                                                          int k_len) {
  MaskBits<kN> bits{};
  for_each_position<kN>(row0, n0, lane, q_len, k_len, [&](int i, int q, int kv) {
    if (Mods::visible(b, h, q, kv, args)) bits.word[i / 32] |= 1u << (i % 32);
  });
  return bits;
}

// The bits the block mask evaluated for a partial tile (slot `slot`), as consumer thread
// `thread` (0..255: warpgroup · 128 + its thread) holds them.
template <int kN>
__device__ __forceinline__ MaskBits<kN> load_mask_bits(const unsigned* bits, int slot, int thread) {
  MaskBits<kN> m;
  const unsigned* at = bits + static_cast<long long>(slot) * MaskBits<kN>::kWords * 256 + thread;
#pragma unroll
  for (int w = 0; w < MaskBits<kN>::kWords; ++w) m.word[w] = __ldg(at + w * 256);
  return m;
}

template <int kN>
__device__ __forceinline__ void apply_mask_bits(float (&s)[kN / 2], const MaskBits<kN>& bits) {
#pragma unroll
  for (int i = 0; i < kN / 2; ++i) {
    if (!((bits.word[i / 32] >> (i % 32)) & 1u)) s[i] = -INFINITY;
  }
}

// Scores arrive scaled, in natural units, and leave Mods::score in log2 units.
template <class Mods, int kN>
__device__ __forceinline__ void apply_score_mod(float (&s)[kN / 2], const FlexArgs& args, int b,
                                                int h, int row0, int n0, int lane, int q_len,
                                                int k_len) {
  constexpr float kLog2e = 1.4426950408889634f;
  for_each_score<kN>(s, row0, n0, lane, q_len, k_len, [&](float& x, int q, int kv) {
    x = Mods::score(x, b, h, q, kv, args) * kLog2e;
  });
}

}  // namespace attend::flash3
