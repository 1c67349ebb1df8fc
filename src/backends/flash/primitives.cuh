// The few tensor-core and memory primitives the flash and sage kernels are written in: cp.async
// copies with zero fill, ldmatrix loads, the m16n8k16 and int8 m16n8k32 MMAs, a
// bank-conflict-free swizzle for row-major tiles in shared memory, and fast exp2/tanh.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

namespace attend::flash {

// ---- shared-memory tiles --------------------------------------------------------------------

// Offset (in 16-byte chunks) of chunk `c` of row `r` in a tile whose rows hold kChunks chunks.
// Eight consecutive rows read at the same logical chunk (one ldmatrix phase) land in eight
// different 16-byte bank groups.
template <int kChunks>
__device__ __forceinline__ int swizzle(int r, int c) {
  static_assert(kChunks % 4 == 0, "rows must be a multiple of 64 bytes");
  if constexpr (kChunks % 8 == 0) {
    return r * kChunks + (c ^ (r & 7));
  } else {  // 4 or 12 chunks: two rows share a 128-byte line, so XOR in steps of row pairs
    return r * kChunks + (c ^ ((r >> 1) & 3));
  }
}

__device__ __forceinline__ std::uint32_t smem_address(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

// One lane's ldmatrix addresses into a swizzled tile: its row's base and the XORed offsets of
// the chunk positions within a swizzle group, computed once, so that every read in the
// unrolled loops is a register plus a compile-time offset (instead of one register each).
// `odd` is the low bit of the chunk this lane reads (which 8-column half of a 16-wide step).
template <int kChunks>
struct SwizzledRows {
  static constexpr int kGroup = kChunks % 8 == 0 ? 8 : 4;  // chunks a row's XOR permutes
  std::uint32_t base;
  std::uint32_t offset[kGroup / 2];

  __device__ __forceinline__ SwizzledRows(const void* tile, int row, int odd) {
    base = smem_address(tile) + static_cast<std::uint32_t>(row * kChunks * 16);
    const int y = odd ^ (kGroup == 8 ? (row & 7) : ((row >> 1) & 3));
#pragma unroll
    for (int a = 0; a < kGroup / 2; ++a) offset[a] = static_cast<std::uint32_t>(((2 * a) ^ y) * 16);
  }
  // Chunk 2·pair + odd of the row `rows` (a multiple of 8) further down.
  __device__ __forceinline__ std::uint32_t at(int rows, int pair) const {
    return base + rows * kChunks * 16 + (2 * pair / kGroup) * kGroup * 16 +
           offset[(2 * pair % kGroup) / 2];
  }
};

// ---- asynchronous copies --------------------------------------------------------------------

// 16 bytes global -> shared; when `valid` is false nothing is read and the chunk is zeroed.
__device__ __forceinline__ void cp_async_16(std::uint32_t dst, const void* src, bool valid) {
  const int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// ---- ldmatrix -------------------------------------------------------------------------------

__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], std::uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(std::uint32_t (&r)[4], std::uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// ---- MMA: D(16x8, f32) += A(16x16, row) * B(16x8, col) --------------------------------------

template <class T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const std::uint32_t (&a)[4],
                                          std::uint32_t b0, std::uint32_t b1) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// D(16x8, s32) += A(16x32, s8, row) * B(32x8, s8, col). The fragments hold the same bytes as
// m16n8k16's b16 fragments of a tile whose rows are read as b16 pairs, so int8 tiles load with
// the same ldmatrix addressing at half the column count.
__device__ __forceinline__ void mma_16832_s8(int (&c)[4], const std::uint32_t (&a)[4],
                                             std::uint32_t b0, std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats as one register of T pairs; `lo` takes the lower column (the MMA operand order).
template <class T>
__device__ __forceinline__ std::uint32_t pack2(float lo, float hi) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<std::uint32_t*>(&v);
  } else {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<std::uint32_t*>(&v);
  }
}

// ---- special functions ----------------------------------------------------------------------

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ float fast_tanh(float x) {
  float y;
  asm("tanh.approx.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Reductions over the four lanes that hold one accumulator row.
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

}  // namespace attend::flash
