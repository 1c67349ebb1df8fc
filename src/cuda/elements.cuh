// Element access on the device for kernels whose dtypes are known only at run time (masks,
// conversions, reference kernels): float conversions of every floating type, one mask term,
// and a grid for grid-stride loops.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "attend/problem.hpp"
#include "attend/tensor.hpp"

namespace attend::cuda {

__device__ __forceinline__ float to_float(float x) {
  return x;
}
__device__ __forceinline__ float to_float(__half x) {
  return __half2float(x);
}
__device__ __forceinline__ float to_float(__nv_bfloat16 x) {
  return __bfloat162float(x);
}
__device__ __forceinline__ float to_float(double x) {
  return static_cast<float>(x);
}

template <class T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __half from_float<__half>(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

// One element of a floating tensor whose dtype is known only at run time (masks).
__device__ __forceinline__ float load_float(const void* base, DType t, std::int64_t offset) {
  switch (t) {
    case DType::f32:
      return static_cast<const float*>(base)[offset];
    case DType::f16:
      return to_float(static_cast<const __half*>(base)[offset]);
    case DType::bf16:
      return to_float(static_cast<const __nv_bfloat16*>(base)[offset]);
    case DType::f64:
      return to_float(static_cast<const double*>(base)[offset]);
    default:
      return 0.0f;
  }
}

// The additive term a mask contributes to score (b, h, i, j): 0 or -inf for boolean masks,
// the value itself for additive ones.
__device__ __forceinline__ float mask_term(const MaskRef& m, std::int64_t b, std::int64_t h,
                                           std::int64_t i, std::int64_t j) {
  const std::int64_t off = b * m.sb + h * m.sh + i * m.sq + j * m.sk;
  if (m.dtype == DType::boolean) {
    return static_cast<const std::uint8_t*>(m.data)[off] ? 0.0f : -INFINITY;
  }
  return load_float(m.data, m.dtype, off);
}

// A grid for a grid-stride loop over n elements.
inline unsigned grid_for(std::int64_t n, int threads) {
  const std::int64_t blocks = (n + threads - 1) / threads;
  constexpr std::int64_t kMaxBlocks = std::int64_t{1} << 20;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

}  // namespace attend::cuda
