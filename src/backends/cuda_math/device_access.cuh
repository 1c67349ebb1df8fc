// Device-side helpers shared by the cuda_math kernels: a sequence's bounds (dense or varlen)
// and the dtype dispatch of a launch; element access comes from cuda/elements.cuh.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "attend/error.hpp"
#include "attend/tensor.hpp"
#include "backends/cuda_math/kernels.hpp"
#include "cuda/elements.cuh"

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

using cuda::from_float;
using cuda::grid_for;
using cuda::load_float;
using cuda::mask_term;
using cuda::to_float;

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

}  // namespace attend::cuda_math
