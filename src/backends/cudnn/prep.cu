#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backends/cudnn/prep.hpp"
#include "cuda/check.hpp"
#include "cuda/elements.cuh"

namespace attend::cudnn {
namespace {

constexpr int kThreads = 256;

template <class T>
__global__ void convert_bias_kernel(MaskRef mask, MaskRef key_padding, T* bias, std::int64_t heads,
                                    std::int64_t Sq, std::int64_t Sk, std::int64_t ld,
                                    std::int64_t n) {
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t j = e % ld, row = e / ld;
    const std::int64_t i = row % Sq, h = row / Sq % heads, b = row / Sq / heads;
    float x = 0.f;
    if (j < Sk) {
      if (key_padding.data != nullptr) x += cuda::mask_term(key_padding, b, h, i, j);
      if (mask.data != nullptr) x += cuda::mask_term(mask, b, h, i, j);
    }
    bias[e] = cuda::from_float<T>(x);
  }
}

__global__ void ragged_tables_kernel(const std::int32_t* cu_q, const std::int32_t* cu_k, int B,
                                     std::int64_t q_ss, std::int64_t k_ss, std::int64_t v_ss,
                                     std::int64_t o_ss, RaggedTables t) {
  for (int b = static_cast<int>(threadIdx.x); b <= B; b += blockDim.x) {
    if (b < B) {
      t.seq_q[b] = cu_q[b + 1] - cu_q[b];
      t.seq_k[b] = cu_k[b + 1] - cu_k[b];
    }
    t.offset_q[b] = static_cast<std::int32_t>(cu_q[b] * q_ss);
    t.offset_k[b] = static_cast<std::int32_t>(cu_k[b] * k_ss);
    t.offset_v[b] = static_cast<std::int32_t>(cu_k[b] * v_ss);
    t.offset_o[b] = static_cast<std::int32_t>(cu_q[b] * o_ss);
  }
}

__global__ void store_rng_kernel(std::int64_t* dst, std::int64_t seed, std::int64_t offset) {
  dst[0] = seed;
  dst[1] = offset;
}

template <class T>
__global__ void fill_keyless_kernel(TensorRef out, LseRef lse, std::int64_t Hq, std::int64_t Sq,
                                    std::int64_t Dv, std::int64_t n) {
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t d = e % Dv, i = e / Dv % Sq, h = e / Dv / Sq % Hq, b = e / Dv / Sq / Hq;
    static_cast<T*>(out.data)[b * out.sb + i * out.ss + h * out.sh + d * out.sd] =
        cuda::from_float<T>(0.f);
    if (d == 0 && lse.data != nullptr) lse.data[b * lse.sb + h * lse.sh + i * lse.sq] = -INFINITY;
  }
}

// Calls f(T{}) with the CUDA type of the half-precision dtype `t`.
template <class F>
void with_half_type(DType t, F&& f) {
  if (t == DType::bf16) {
    f(__nv_bfloat16{});
  } else {
    f(__half{});
  }
}

}  // namespace

void convert_bias(const Problem& p, const Lowered& l, void* bias, cudaStream_t stream) {
  const std::int64_t n = l.bias.dim[0] * l.bias.stride[0];
  with_half_type(p.dtype, [&]<class T>(T) {
    convert_bias_kernel<T><<<cuda::grid_for(n, kThreads), kThreads, 0, stream>>>(
        p.mask, p.key_padding, static_cast<T*>(bias), l.bias.dim[1], p.Sq, p.Sk, l.bias.stride[2],
        n);
  });
  ATTEND_CUDA_CHECK_LAUNCH("cudnn convert_bias_kernel");
}

RaggedTables ragged_tables(const Problem& p, void* workspace, cudaStream_t stream) {
  auto* base = static_cast<std::int32_t*>(workspace);
  const std::int64_t B = p.B;
  RaggedTables t{
      base, base + B, base + 2 * B, base + 3 * B + 1, base + 4 * B + 2, base + 5 * B + 3};
  ragged_tables_kernel<<<1, kThreads, 0, stream>>>(
      p.cu_seqlens_q, p.cu_seqlens_k, static_cast<int>(B), p.q.ss, p.k.ss, p.v.ss, p.out.ss, t);
  ATTEND_CUDA_CHECK_LAUNCH("cudnn ragged_tables_kernel");
  return t;
}

void store_rng_state(const Problem& p, std::int64_t* dst, cudaStream_t stream) {
  store_rng_kernel<<<1, 1, 0, stream>>>(dst, static_cast<std::int64_t>(p.dropout_seed),
                                        static_cast<std::int64_t>(p.dropout_offset));
  ATTEND_CUDA_CHECK_LAUNCH("cudnn store_rng_kernel");
}

void fill_keyless(const Problem& p, cudaStream_t stream) {
  // Packed sequences: every token row of the packed tensor (their batch strides are 0).
  const std::int64_t batches = p.varlen ? 1 : p.B, rows = p.varlen ? p.total_q : p.Sq;
  const std::int64_t n = batches * p.Hq * rows * p.Dv;
  if (n == 0) return;
  with_half_type(p.dtype, [&]<class T>(T) {
    fill_keyless_kernel<T>
        <<<cuda::grid_for(n, kThreads), kThreads, 0, stream>>>(p.out, p.lse, p.Hq, rows, p.Dv, n);
  });
  ATTEND_CUDA_CHECK_LAUNCH("cudnn fill_keyless_kernel");
}

}  // namespace attend::cudnn
