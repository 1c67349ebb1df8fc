// Warpgroup MMA (sm_90a) as the flash3 kernels use it: shared-memory matrix descriptors for
// tiles stored in TMA's 128-byte swizzle, the issue/commit/wait protocol, and one call per
// shape (the wrappers themselves are generated into wgmma.inc).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

namespace attend::flash3 {

// A tile as TMA writes it with 128-byte swizzle: 64-element (128-byte) column panels, each
// [rows][64], rows 128 bytes apart, the 16-byte chunks of row r XOR-permuted by r % 8. Eight
// rows (1024 bytes) are one swizzle atom; panel bases are 1024-byte aligned.
constexpr int kPanelCols = 64;
constexpr int kRowBytes = 128;
constexpr int kAtomBytes = 8 * kRowBytes;

// Descriptor fields: start address, leading and stride byte offsets (all >> 4), 128-byte swizzle.
__device__ __forceinline__ std::uint64_t smem_descriptor(std::uint32_t address,
                                                         std::uint32_t leading_bytes,
                                                         std::uint32_t stride_bytes) {
  return static_cast<std::uint64_t>((address & 0x3FFFF) >> 4) |
         (static_cast<std::uint64_t>(leading_bytes >> 4) << 16) |
         (static_cast<std::uint64_t>(stride_bytes >> 4) << 32) | (std::uint64_t{1} << 62);
}

// K-major operand (the reduction dimension contiguous: Q and K for S = Q K^T), 16 columns of
// the reduction starting at column k0 (a multiple of 16). Rows step by atoms (stride 1024);
// the leading offset is unused when the 16 columns lie inside one 128-byte row.
__device__ __forceinline__ std::uint64_t k_major(std::uint32_t tile, int rows_per_panel, int k0) {
  const std::uint32_t at =
      tile + (k0 / kPanelCols) * rows_per_panel * kRowBytes + (k0 % kPanelCols) * 2;
  return smem_descriptor(at, 16, kAtomBytes);
}

// MN-major operand (the output dimension contiguous: V as B of O = P V), 16 rows of the
// reduction starting at row k0. The leading offset steps from one 64-column panel to the next
// along N, the stride offset from one 8-row atom to the next along K.
__device__ __forceinline__ std::uint64_t mn_major(std::uint32_t tile, int rows_per_panel, int k0) {
  return smem_descriptor(tile + k0 * kRowBytes, rows_per_panel * kRowBytes, kAtomBytes);
}

// Registers the MMAs write or read must not be touched by other instructions between these
// fences; the empty asm pins each value so the compiler cannot move accesses across them.
template <class R, int N>
__device__ __forceinline__ void fence_operands(R (&r)[N]) {
  static_assert(sizeof(R) == 4, "MMA operands are 32-bit registers");
#pragma unroll
  for (int i = 0; i < N; ++i) {
    if constexpr (std::is_same_v<R, float>) {
      asm volatile("" : "+f"(r[i])::"memory");
    } else {
      asm volatile("" : "+r"(r[i])::"memory");
    }
  }
}

// Before a batch of MMAs whose registers were written by ordinary instructions.
__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
// Waits until at most kPending committed groups of this warpgroup are still running.
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}

#include "backends/flash3/wgmma.inc"

// S(64 x N) (+)= A B^T with A (64 rows) and B (N rows) both K-major in shared memory.
template <class T, int N>
__device__ __forceinline__ void mma_ss(float (&d)[N / 2], std::uint64_t a, std::uint64_t b,
                                       int accumulate) {
  if constexpr (N == 64) {
    wgmma_ss_n64<T>(d, a, b, accumulate);
  } else {
    static_assert(N == 128, "no wgmma wrapper for this N (add it to gen_wgmma.py)");
    wgmma_ss_n128<T>(d, a, b, accumulate);
  }
}

// O(64 x N) += P V with P (64 x 16) in registers and V (16 x N) MN-major in shared memory.
template <class T, int N>
__device__ __forceinline__ void mma_rs(float (&d)[N / 2], const std::uint32_t (&a)[4],
                                       std::uint64_t b) {
  if constexpr (N == 64) {
    wgmma_rs_n64<T>(d, a, b, 1);
  } else if constexpr (N == 128) {
    wgmma_rs_n128<T>(d, a, b, 1);
  } else {
    static_assert(N == 256, "no wgmma wrapper for this N (add it to gen_wgmma.py)");
    wgmma_rs_n256<T>(d, a, b, 1);
  }
}

}  // namespace attend::flash3
