// From a resolved Problem to the sage launches: lower it as flash does, pack key-padded K/V,
// quantize into one workspace, and run the int8 kernel of the padded head dim.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <atomic>
#include <cstdint>

#include "attend/error.hpp"
#include "backends/flash/lower.hpp"
#include "backends/sage/kernel.cuh"
#include "backends/sage/launch.hpp"
#include "backends/sage/quantize.hpp"
#include "backends/sage/workspace.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::sage {
namespace {

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
  const ValueCopy copy = bf16 ? ValueCopy::fp16 : ValueCopy::none;
  const Workspace z = workspace_of(pr, kd, copy);
  cuda::WorkspaceLease lease(pr.device.index, stream, z.total());
  const Quantize qa = quantize_into(pr, p, kd, copy, z, lease.as<char>(), stream);

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
