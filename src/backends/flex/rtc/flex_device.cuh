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

// One block per (query tile, head, batch) of the mask: every (query, key) pair of each key tile
// is evaluated; a tile with some pair visible is listed as full (all visible) or partial.
template <class Mods>
__global__ void __launch_bounds__(256)
    block_mask_kernel(const BlockMaskParams bp, const flash3::FlexArgs args) {
  const int m = static_cast<int>(blockIdx.x), h = static_cast<int>(blockIdx.y),
            b = static_cast<int>(blockIdx.z);
  const long long r = (static_cast<long long>(b) * bp.heads + h) * bp.m_blocks + m;
  const int q0 = m * bp.block_m, rows = min(bp.block_m, bp.Sq - q0);
  int partial = 0, full = 0;
  for (int n = 0; n < bp.key_tiles; ++n) {
    const int k0 = n * bp.block_n, cols = min(bp.block_n, bp.Sk - k0);
    bool any = false, all = true;
    for (int c = static_cast<int>(threadIdx.x); c < rows * cols;
         c += static_cast<int>(blockDim.x)) {
      const bool v = Mods::visible(b, h, q0 + c / cols, k0 + c % cols, args);
      any |= v;
      all &= v;
    }
    any = __syncthreads_or(any);
    all = __syncthreads_and(all);
    if (threadIdx.x == 0 && any) {
      if (all) {
        bp.full[r * bp.key_tiles + full++] = n;
      } else {
        bp.partial[r * bp.key_tiles + partial++] = n;
      }
    }
  }
  if (threadIdx.x == 0) {
    bp.counts[2 * r] = partial;
    bp.counts[2 * r + 1] = full;
  }
}

}  // namespace attend::flex_device
