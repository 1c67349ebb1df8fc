// Moving rows between the user's tensors (any dtype, layout, strides) and the fp32 buffers the
// GEMMs use. One thread per element, head dim fastest, so unit-stride rows are read coalesced.
#include "backends/cuda_math/device_access.cuh"
#include "backends/cuda_math/kernels.hpp"
#include "cuda/check.hpp"

namespace attend::cuda_math {
namespace {

constexpr int kThreads = 256;

// An element of a buffer [unit][head in unit][row][dim], decoded from its flat index.
struct Element {
  std::int64_t unit, head, row, d;
};

__device__ __forceinline__ Element decode(std::int64_t idx, std::int64_t heads, std::int64_t rows,
                                          std::int64_t dim) {
  Element e;
  e.d = idx % dim;
  idx /= dim;
  e.row = idx % rows;
  idx /= rows;
  e.head = idx % heads;
  e.unit = idx / heads;
  return e;
}

// Queries (kQuery: `heads` = group, rows from g.row0) or keys/values (heads 1, all Sk rows).
template <class T, bool kQuery>
__global__ void gather_rows(const T* __restrict__ src, TensorRef ref, Geometry g,
                            std::int64_t heads, std::int64_t rows, std::int64_t dim,
                            float* __restrict__ dst, std::int64_t n) {
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; idx < n;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const Element e = decode(idx, heads, rows, dim);
    const std::int64_t unit = g.unit0 + e.unit;
    const std::int64_t b = unit / g.Hkv;
    const std::int64_t h = (unit % g.Hkv) * heads + e.head;  // query head, or the KV head
    const Bounds s = sequence(g, b);
    const std::int64_t pos = kQuery ? g.row0 + e.row : e.row;
    const std::int64_t len = kQuery ? s.q_len : s.k_len;
    const std::int64_t start = kQuery ? s.q_start : s.k_start;
    float x = 0.0f;
    if (pos < len)
      x = to_float(src[b * ref.sb + (start + pos) * ref.ss + h * ref.sh + e.d * ref.sd]);
    dst[idx] = x;
  }
}

// sum_j P_j V_j with zero weights skipped, as the reference computes it.
__device__ float exact_weighted_sum(const float* __restrict__ p, const float* __restrict__ v,
                                    std::int64_t Sk, std::int64_t Dv) {
  float acc = 0.0f;
  for (std::int64_t j = 0; j < Sk; ++j) {
    const float w = p[j];
    if (w != 0.0f) acc += w * v[j * Dv];
  }
  return acc;
}

template <class T>
__global__ void scatter_rows(T* __restrict__ dst, TensorRef ref, Geometry g, std::int64_t Dv,
                             const float* __restrict__ o, const float* __restrict__ probs,
                             const float* __restrict__ v, std::int64_t n) {
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; idx < n;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const Element e = decode(idx, g.group, g.rows, Dv);
    const std::int64_t unit = g.unit0 + e.unit;
    const std::int64_t b = unit / g.Hkv;
    const std::int64_t h = (unit % g.Hkv) * g.group + e.head;
    const Bounds s = sequence(g, b);
    const std::int64_t i = g.row0 + e.row;
    if (i >= s.q_len) continue;
    float x = 0.0f;
    if (o != nullptr) {
      x = o[idx];
      if (!isfinite(x)) {
        const std::int64_t prow = (e.unit * g.group + e.head) * g.rows + e.row;
        x = exact_weighted_sum(probs + prow * g.Sk, v + e.unit * g.Sk * Dv + e.d, g.Sk, Dv);
      }
    }
    dst[b * ref.sb + (s.q_start + i) * ref.ss + h * ref.sh + e.d * ref.sd] = from_float<T>(x);
  }
}

}  // namespace

void gather_queries(const Problem& p, const Geometry& g, float* q, cudaStream_t stream) {
  const std::int64_t n = g.units * g.group * g.rows * p.D;
  if (n == 0) return;
  with_element_type(p.dtype, [&]<class T>(T) {
    gather_rows<T, true><<<grid_for(n, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(p.q.data), p.q, g, g.group, g.rows, p.D, q, n);
    ATTEND_CUDA_CHECK_LAUNCH("cuda_math gather_rows (q)");
  });
}

void gather_keys_values(const Problem& p, const Geometry& g, float* k, float* v,
                        cudaStream_t stream) {
  const std::int64_t nk = g.units * g.Sk * p.D, nv = g.units * g.Sk * p.Dv;
  if (nk == 0) return;
  with_element_type(p.dtype, [&]<class T>(T) {
    gather_rows<T, false><<<grid_for(nk, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(p.k.data), p.k, g, 1, g.Sk, p.D, k, nk);
    ATTEND_CUDA_CHECK_LAUNCH("cuda_math gather_rows (k)");
    gather_rows<T, false><<<grid_for(nv, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(p.v.data), p.v, g, 1, g.Sk, p.Dv, v, nv);
    ATTEND_CUDA_CHECK_LAUNCH("cuda_math gather_rows (v)");
  });
}

void scatter_output(const Problem& p, const Geometry& g, const float* o, const float* probs,
                    const float* v, cudaStream_t stream) {
  const std::int64_t n = g.units * g.group * g.rows * p.Dv;
  if (n == 0) return;
  with_element_type(p.out_dtype, [&]<class T>(T) {
    scatter_rows<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(p.out.data),
                                                                    p.out, g, p.Dv, o, probs, v, n);
    ATTEND_CUDA_CHECK_LAUNCH("cuda_math scatter_rows");
  });
}

}  // namespace attend::cuda_math
