// Device-side helpers shared by the cuda_math kernels: a sequence's bounds (dense or varlen),
// element loads and stores of every dtype, and the dtype dispatch of a launch.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "attend/error.hpp"
#include "attend/tensor.hpp"
#include "backends/cuda_math/kernels.hpp"

namespace attend::cuda_math {

struct Bounds {
  std::int64_t q_start = 0, q_len = 0;  // token offset and length of sequence b in q/out
  std::int64_t k_start = 0, k_len = 0;  // in k/v
};

// Device cu_seqlens are not validated (reading them on the host would synchronise), so they are
// clamped to the packed tensors and to the max lengths the buffers were sized for: bad values
// give wrong rows, never out-of-bounds accesses.
__device__ __forceinline__ Bounds sequence(const Geometry& g, std::int64_t b) {
  if (g.cu_q == nullptr) return {0, g.Sq, 0, g.Sk};
  auto clamp = [](std::int64_t x, std::int64_t lo, std::int64_t hi) {
    return x < lo ? lo : (x > hi ? hi : x);
  };
  Bounds s;
  s.q_start = clamp(g.cu_q[b], 0, g.total_q);
  s.q_len = clamp(clamp(g.cu_q[b + 1], 0, g.total_q) - s.q_start, 0, g.Sq);
  s.k_start = clamp(g.cu_k[b], 0, g.total_k);
  s.k_len = clamp(clamp(g.cu_k[b + 1], 0, g.total_k) - s.k_start, 0, g.Sk);
  return s;
}

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

// Calls f(T{}) with the CUDA element type of q/k/v/out.
template <class F>
void with_element_type(DType t, F&& f) {
  switch (t) {
    case DType::f32:
      return f(float{});
    case DType::f16:
      return f(__half{});
    case DType::bf16:
      return f(__nv_bfloat16{});
    default:
      throw Error(Code::dtype, "attend: cuda_math kernels take fp32, fp16 and bf16");
  }
}

// A grid for a grid-stride loop over n elements.
inline unsigned grid_for(std::int64_t n, int threads) {
  const std::int64_t blocks = (n + threads - 1) / threads;
  constexpr std::int64_t kMaxBlocks = std::int64_t{1} << 20;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

}  // namespace attend::cuda_math
