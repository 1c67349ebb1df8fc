// The cuda_math driver: for each chunk of the plan (plan.hpp), gather K/V once per run of units,
// then per run of query rows gather Q, S = Q K^T (cuBLAS, pedantic fp32), the softmax kernel,
// O = P V (cuBLAS), and scatter O into the output. All of it enqueued on the problem's stream.
#include "backends/cuda_math/run.hpp"

#include <algorithm>
#include <string>

#include "backends/cuda_math/kernels.hpp"
#include "backends/cuda_math/plan.hpp"
#include "cuda/check.hpp"
#include "cuda/cublas.hpp"
#include "cuda/runtime.hpp"

namespace attend::cuda_math {
namespace {

// Row-major fp32 batches as cuBLAS sees them (column-major, so every product is transposed):
// S[M][Sk] = Q[M][D] K[Sk][D]^T is S^T = K Q^T, and O[M][Dv] = P[M][Sk] V[Sk][Dv] is O^T = V^T P^T.
void scores_gemm(cublasHandle_t h, const float* q, const float* k, float* s, std::int64_t batch,
                 std::int64_t m, std::int64_t Sk, std::int64_t D) {
  const float one = 1.0f, zero = 0.0f;
  ATTEND_CUBLAS_CHECK(cublasSgemmStridedBatched(
      h, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(Sk), static_cast<int>(m), static_cast<int>(D),
      &one, k, static_cast<int>(D), Sk * D, q, static_cast<int>(D), m * D, &zero, s,
      static_cast<int>(Sk), m * Sk, static_cast<int>(batch)));
}

void output_gemm(cublasHandle_t h, const float* p, const float* v, float* o, std::int64_t batch,
                 std::int64_t m, std::int64_t Sk, std::int64_t Dv) {
  const float one = 1.0f, zero = 0.0f;
  ATTEND_CUBLAS_CHECK(cublasSgemmStridedBatched(
      h, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(Dv), static_cast<int>(m), static_cast<int>(Sk),
      &one, v, static_cast<int>(Dv), Sk * Dv, p, static_cast<int>(Sk), m * Sk, &zero, o,
      static_cast<int>(Dv), m * Dv, static_cast<int>(batch)));
}

}  // namespace

void run(const Problem& p) {
  if (p.B == 0 || p.Sq == 0 || p.Hq == 0 || (p.varlen && p.total_q == 0)) return;
  const int device = p.device.index;
  cuda::DeviceGuard guard(device);
  const cudaStream_t stream = cuda::stream_of(p);

  Geometry g;
  g.Hkv = p.Hkv;
  g.group = p.group();
  g.Sq = p.Sq;
  g.Sk = p.Sk;
  if (p.varlen) {
    g.cu_q = p.cu_seqlens_q;
    g.cu_k = p.cu_seqlens_k;
    g.total_q = p.total_q;
    g.total_k = p.total_k;
  }
  const std::int64_t units = p.B * p.Hkv;
  const Plan plan = make_plan({units, g.group, p.Sq, p.Sk, p.D, p.Dv});
  // The lease comes first: during graph capture a workspace too small throws before anything
  // was enqueued.
  cuda::WorkspaceLease lease(device, stream, plan.bytes);
  float* const kbuf = lease.as<float>(plan.k_offset);
  float* const vbuf = lease.as<float>(plan.v_offset);
  float* const qbuf = lease.as<float>(plan.q_offset);
  float* const sbuf = lease.as<float>(plan.s_offset);
  float* const obuf = lease.as<float>(plan.o_offset);
  const bool keys = p.Sk > 0;  // no keys: zeros and LSE -inf, no GEMM
  cublasHandle_t blas = keys ? cuda::cublas_handle(stream, lease.as<void>(plan.cublas_offset),
                                                   cuda::kCublasWorkspaceBytes)
                             : nullptr;

  for (g.unit0 = 0; g.unit0 < units; g.unit0 += plan.units) {
    g.units = std::min(plan.units, units - g.unit0);
    if (keys) gather_keys_values(p, g, kbuf, vbuf, stream);
    for (g.row0 = 0; g.row0 < p.Sq; g.row0 += plan.rows) {
      g.rows = std::min(plan.rows, p.Sq - g.row0);
      const std::int64_t m = g.group * g.rows;
      if (keys) {
        gather_queries(p, g, qbuf, stream);
        scores_gemm(blas, qbuf, kbuf, sbuf, g.units, m, p.Sk, p.D);
      }
      softmax(p, g, sbuf, stream);
      if (keys) output_gemm(blas, sbuf, vbuf, obuf, g.units, m, p.Sk, p.Dv);
      scatter_output(p, g, keys ? obuf : nullptr, sbuf, vbuf, stream);
    }
  }
}

}  // namespace attend::cuda_math
