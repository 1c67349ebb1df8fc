#include <cmath>
#include <cstdint>

#include "backends/flash/lower.hpp"
#include "backends/sage/scales.cuh"
#include "backends/sage/workspace.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::sage {

Workspace workspace_of(const Problem& pr, int kernel_dim, ValueCopy copy) {
  using cuda::align_up;
  const auto B = static_cast<std::size_t>(pr.B), kd = static_cast<std::size_t>(kernel_dim);
  const std::size_t q_tokens = pr.varlen ? pr.total_q : B * pr.Sq;
  const std::size_t k_tokens = pr.varlen ? pr.total_k : B * pr.Sk;
  const std::size_t q_rows = static_cast<std::size_t>(pr.Hq) * B * pr.Sq;
  const std::size_t kv = static_cast<std::size_t>(pr.Hkv) * B;
  const std::size_t step_rows = key_step_rows(static_cast<int>(pr.Sk));
  Workspace z;
  z.packing = pr.key_padding.present() ? flash::key_packing_bytes(pr) : 0;
  z.q8 = align_up(q_tokens * pr.Hq * kd);
  z.k8 = align_up(k_tokens * pr.Hkv * kd);
  z.v_copy = copy == ValueCopy::fp16             ? align_up(k_tokens * pr.Hkv * kd * 2)
             : copy == ValueCopy::fp8_transposed ? align_up(kv * 2 * kd * step_rows)
                                                 : 0;
  z.q_scale = align_up(q_rows * 4);
  z.k_scale = align_up(kv * step_rows * 4);
  z.lse_bias = pr.lse.present() ? align_up(q_rows * 4) : 0;
  const std::size_t key_blocks = (static_cast<std::size_t>(pr.Sk) + kStatsRows - 1) / kStatsRows;
  z.k_partial = align_up(key_blocks * kv * kd * 4);
  z.k_mean = align_up(kv * kd * 4);
  z.v_inv_step = copy != ValueCopy::none ? align_up(kv * kd * 4) : 0;
  z.v_max = copy != ValueCopy::none ? align_up(kv * kd * 4) : 0;
  z.stats_done = align_up(kv * 4);
  return z;
}

Quantize quantize_into(const Problem& pr, flash::FlashParams& p, int kernel_dim, ValueCopy copy,
                       const Workspace& z, char* at, cudaStream_t stream) {
  auto carve = [&](std::size_t bytes) {
    char* ptr = bytes > 0 ? at : nullptr;
    at += bytes;
    return ptr;
  };
  char* packing = carve(z.packing);
  if (packing != nullptr) flash::pack_padded_keys(pr, p, packing, stream);

  Quantize qa;
  qa.q = p.q, qa.k = p.k, qa.v = p.v;
  qa.q_sb = p.q_sb, qa.q_ss = p.q_ss, qa.q_sh = p.q_sh;
  qa.k_sb = p.k_sb, qa.k_ss = p.k_ss, qa.k_sh = p.k_sh;
  qa.v_sb = p.v_sb, qa.v_ss = p.v_ss, qa.v_sh = p.v_sh;
  qa.cu_q = p.cu_q, qa.cu_k = p.cu_k;
  qa.B = p.B, qa.Hq = p.Hq, qa.Hkv = p.Hkv, qa.group = p.group;
  qa.Sq = p.Sq, qa.Sk = p.Sk, qa.D = p.D, qa.kernel_dim = kernel_dim;
  qa.bf16 = pr.dtype == DType::bf16;
  // A negative scale flips Q's sign, so that the kernels' row steps stay positive.
  qa.q_sign = pr.scale < 0 ? -1.f : 1.f;
  qa.score_scale = std::abs(p.score_scale);
  qa.lse_scale = static_cast<float>(std::abs(pr.scale));
  qa.q8 = reinterpret_cast<std::int8_t*>(carve(z.q8));
  qa.k8 = reinterpret_cast<std::int8_t*>(carve(z.k8));
  char* v_copy = carve(z.v_copy);
  if (copy == ValueCopy::fp16) qa.v16 = v_copy;
  if (copy == ValueCopy::fp8_transposed) qa.v8t = reinterpret_cast<std::uint8_t*>(v_copy);
  qa.q_scale = reinterpret_cast<float*>(carve(z.q_scale));
  qa.k_scale = reinterpret_cast<float*>(carve(z.k_scale));
  qa.lse_bias = reinterpret_cast<float*>(carve(z.lse_bias));
  qa.k_partial = reinterpret_cast<float*>(carve(z.k_partial));
  qa.k_mean = reinterpret_cast<float*>(carve(z.k_mean));
  qa.v_inv_step = reinterpret_cast<float*>(carve(z.v_inv_step));
  // v_max and stats_done are neighbours: one memset zeroes both.
  char* zeroed = at;
  qa.v_max = reinterpret_cast<std::uint32_t*>(carve(z.v_max));
  qa.stats_done = reinterpret_cast<std::uint32_t*>(carve(z.stats_done));
  ATTEND_CUDA_CHECK(cudaMemsetAsync(zeroed, 0, z.v_max + z.stats_done, stream));
  launch_quantize(qa, stream);
  return qa;
}

}  // namespace attend::sage
