// From a resolved Problem to the sage launches: lower it as flash does, pack key-padded K/V,
// quantize into one workspace, and run the int8 kernel of the padded head dim.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>

#include "attend/error.hpp"
#include "backends/flash/lower.hpp"
#include "backends/sage/kernel.cuh"
#include "backends/sage/launch.hpp"
#include "backends/sage/quantize.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::sage {
namespace {

// Workspace pieces, in order, each 256-byte aligned.
struct Pieces {
  std::size_t packing, q8, k8, v16, q_scale, k_scale, lse_bias, k_partial, k_sum, v_max;
  std::size_t total() const {
    return packing + q8 + k8 + v16 + q_scale + k_scale + lse_bias + k_partial + k_sum + v_max;
  }
};

Pieces pieces_of(const Problem& pr, int kernel_dim) {
  using cuda::align_up;
  const auto B = static_cast<std::size_t>(pr.B), kd = static_cast<std::size_t>(kernel_dim);
  const std::size_t q_tokens = pr.varlen ? pr.total_q : B * pr.Sq;
  const std::size_t k_tokens = pr.varlen ? pr.total_k : B * pr.Sk;
  const std::size_t q_rows = static_cast<std::size_t>(pr.Hq) * B * pr.Sq;
  const std::size_t kv = static_cast<std::size_t>(pr.Hkv) * B;
  Pieces z{};
  z.packing = pr.key_padding.present() ? flash::key_packing_bytes(pr) : 0;
  z.q8 = align_up(q_tokens * pr.Hq * kd);
  z.k8 = align_up(k_tokens * pr.Hkv * kd);
  z.v16 = pr.dtype == DType::bf16 ? align_up(k_tokens * pr.Hkv * kd * 2) : 0;
  z.q_scale = align_up(q_rows * 4);
  z.k_scale = align_up(kv * key_step_rows(static_cast<int>(pr.Sk)) * 4);
  z.lse_bias = pr.lse.present() ? align_up(q_rows * 4) : 0;
  const std::size_t key_blocks = (static_cast<std::size_t>(pr.Sk) + kStatsRows - 1) / kStatsRows;
  z.k_partial = align_up(key_blocks * kv * kd * 4);
  z.k_sum = align_up(kv * kd * 4);
  z.v_max = pr.dtype == DType::bf16 ? align_up(kv * kd * 4) : 0;
  return z;
}

template <class T, int kD>
void launch_kernel(const SageParams& sp, cudaStream_t stream) {
  using C = SageTiles<kD>;
  constexpr int kSmem = smem_bytes<kD, C>();
  auto kernel = sage_fwd_kernel<T, kD, C>;
  static std::atomic<std::uint64_t> opted_in{0};
  cuda::allow_shared_memory(reinterpret_cast<const void*>(kernel), kSmem, opted_in);
  const dim3 grid((sp.base.Sq + C::kBlockM - 1) / C::kBlockM, sp.base.Hq, sp.base.B);
  kernel<<<grid, C::kThreads, kSmem, stream>>>(sp);
  ATTEND_CUDA_CHECK_LAUNCH("sage_fwd_kernel");
}

template <class T>
void dispatch(const SageParams& sp, int kernel_dim, cudaStream_t stream) {
  if (kernel_dim == 64) return launch_kernel<T, 64>(sp, stream);
  return launch_kernel<T, 128>(sp, stream);
}

}  // namespace

void run(const Problem& pr) {
  if (pr.B == 0 || pr.Hq == 0 || pr.Sq == 0) return;
  const int kd = kernel_head_dim(pr.D);
  if (kd == 0) throw Error(Code::head_dim, "attend: sage has kernels for head dims up to 128");
  cuda::DeviceGuard guard(pr.device.index);
  const cudaStream_t stream = cuda::stream_of(pr);
  flash::FlashParams p = flash::lower(pr);
  const bool bf16 = pr.dtype == DType::bf16;

  const Pieces z = pieces_of(pr, kd);
  cuda::WorkspaceLease lease(pr.device.index, stream, z.total());
  char* at = lease.as<char>();
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
  qa.Sq = p.Sq, qa.Sk = p.Sk, qa.D = p.D, qa.kernel_dim = kd;
  qa.bf16 = bf16;
  // A negative scale flips Q's sign, so that the kernel's row steps stay positive.
  qa.q_sign = pr.scale < 0 ? -1.f : 1.f;
  qa.score_scale = std::abs(p.score_scale);
  qa.lse_scale = static_cast<float>(std::abs(pr.scale));
  qa.q8 = reinterpret_cast<std::int8_t*>(carve(z.q8));
  qa.k8 = reinterpret_cast<std::int8_t*>(carve(z.k8));
  qa.v16 = carve(z.v16);
  qa.q_scale = reinterpret_cast<float*>(carve(z.q_scale));
  qa.k_scale = reinterpret_cast<float*>(carve(z.k_scale));
  qa.lse_bias = reinterpret_cast<float*>(carve(z.lse_bias));
  qa.k_partial = reinterpret_cast<float*>(carve(z.k_partial));
  qa.k_sum = reinterpret_cast<float*>(carve(z.k_sum));
  qa.v_max = reinterpret_cast<std::uint32_t*>(carve(z.v_max));
  if (qa.v_max != nullptr) ATTEND_CUDA_CHECK(cudaMemsetAsync(qa.v_max, 0, z.v_max, stream));
  launch_quantize(qa, stream);

  // The kernel reads the int8 rows as b16 pairs and V from the fp16 copy (bf16) or as it is.
  SageParams sp;
  sp.base = p;
  const std::int64_t pairs = kd / 2;
  sp.base.q = qa.q8;
  sp.base.q_sh = pairs, sp.base.q_ss = pairs * p.Hq,
  sp.base.q_sb = p.cu_q ? 0 : pairs * p.Hq * p.Sq;
  sp.base.k = qa.k8;
  sp.base.k_sh = pairs, sp.base.k_ss = pairs * p.Hkv,
  sp.base.k_sb = p.cu_k ? 0 : pairs * p.Hkv * p.Sk;
  if (bf16) {
    sp.base.v = qa.v16;
    sp.base.v_sh = kd, sp.base.v_ss = static_cast<std::int64_t>(kd) * p.Hkv,
    sp.base.v_sb = p.cu_k ? 0 : static_cast<std::int64_t>(kd) * p.Hkv * p.Sk;
  }
  sp.q_scale = qa.q_scale;
  sp.k_scale = qa.k_scale;
  sp.v_max = qa.v_max;
  sp.lse_bias = qa.lse_bias;
  if (bf16) {
    dispatch<__nv_bfloat16>(sp, kd, stream);
  } else {
    dispatch<__half>(sp, kd, stream);
  }
}

}  // namespace attend::sage
