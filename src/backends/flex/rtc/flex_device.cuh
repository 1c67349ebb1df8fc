// What generated flex code is written against: typed views of the spec's tensors, and the kernel
// that turns a mask function into a block mask (per query tile, its partial and full key tiles).
// Included by the source the flex backend compiles at run time, after the flash3 kernel.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backends/flash3/params.hpp"
#include "backends/flex/block_mask_params.hpp"

namespace attend::flex_device {

__device__ __forceinline__ float read(__nv_bfloat16 x) {
  return __bfloat162float(x);
}
__device__ __forceinline__ float read(__half x) {
  return __half2float(x);
}
template <class T>
__device__ __forceinline__ T read(T x) {
  return x;
}

// A spec tensor as the functions see it: t(i, j, ...) with one index per dimension (strides
// applied); t[i] is t(i). Half-precision elements read as float.
template <class T>
struct Tensor {
  const T* data;
  long long s0, s1, s2, s3;
  __device__ __forceinline__ explicit Tensor(const flash3::FlexTensorArg& a)
      : data(static_cast<const T*>(a.data)),
        s0(a.stride[0]),
        s1(a.stride[1]),
        s2(a.stride[2]),
        s3(a.stride[3]) {}
  __device__ __forceinline__ auto operator[](long long i) const { return read(data[i * s0]); }
  __device__ __forceinline__ auto operator()(long long i) const { return read(data[i * s0]); }
  __device__ __forceinline__ auto operator()(long long i, long long j) const {
    return read(data[i * s0 + j * s1]);
  }
  __device__ __forceinline__ auto operator()(long long i, long long j, long long k) const {
    return read(data[i * s0 + j * s1 + k * s2]);
  }
  __device__ __forceinline__ auto operator()(long long i, long long j, long long k,
                                             long long l) const {
    return read(data[i * s0 + j * s1 + k * s2 + l * s3]);
  }
};

// One block per (query tile, head, batch) of the mask, its 256 threads in the roles of the
// attention kernel's consumer threads: each evaluates the mask at the scores that thread holds
// of every key tile (mods.cuh: evaluate_mask_mod, clamped alike), so a tile with some pair
// visible is listed as full (all visible) or partial, and a partial tile's bits, while slots
// last, are kept for the kernel to load instead of calling mask_mod again.
template <class Mods, int kN>
__global__ void __launch_bounds__(256)
    block_mask_kernel(const BlockMaskParams bp, const flash3::FlexArgs args) {
  using Bits = flash3::MaskBits<kN>;
  static_assert(kN % 64 == 0, "whole words of mask bits per thread");
  const int m = static_cast<int>(blockIdx.x), h = static_cast<int>(blockIdx.y),
            b = static_cast<int>(blockIdx.z);
  const long long r = (static_cast<long long>(b) * bp.heads + h) * bp.m_blocks + m;
  const int thread = static_cast<int>(threadIdx.x), tid = thread % 128, lane = tid % 32;
  const int row0 = m * bp.block_m + (thread / 128) * 64 + (tid / 32) * 16 + lane / 4;
  __shared__ int slot;
  int partial = 0, full = 0;
  for (int n = 0; n < bp.key_tiles; ++n) {
    const Bits bits =
        flash3::evaluate_mask_mod<Mods, kN>(args, b, h, row0, n * kN, lane, bp.Sq, bp.Sk);
    bool any = false, all = true;
#pragma unroll
    for (int w = 0; w < Bits::kWords; ++w) {
      any |= bits.word[w] != 0u;
      all &= bits.word[w] == ~0u;
    }
    any = __syncthreads_or(any);
    all = __syncthreads_and(all);
    if (!any) continue;
    if (all) {
      if (thread == 0) bp.full[r * bp.key_tiles + full] = n;
      ++full;
      continue;
    }
    if (thread == 0) {
      const unsigned taken = bp.bit_slots > 0 ? atomicAdd(bp.bits_used, 1u) : 0u;
      slot = taken < static_cast<unsigned>(bp.bit_slots) ? static_cast<int>(taken) : -1;
      bp.partial[r * bp.key_tiles + partial] = n;
      bp.slots[r * bp.key_tiles + partial] = slot;
    }
    __syncthreads();
    if (slot >= 0) {
      unsigned* at = bp.bits + static_cast<long long>(slot) * Bits::kWords * 256 + thread;
#pragma unroll
      for (int w = 0; w < Bits::kWords; ++w) at[w * 256] = bits.word[w];
    }
    ++partial;  // `slot` is next written after the next tile's __syncthreads_or
  }
  if (thread == 0) {
    bp.counts[2 * r] = partial;
    bp.counts[2 * r + 1] = full;
  }
}

}  // namespace attend::flex_device
