// Split-KV combine: each split wrote its rows normalised over its own keys with their LSE;
// the full row is the LSE-weighted sum. One warp per query row.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "backends/flash/kernels.hpp"
#include "backends/flash/primitives.cuh"
#include "cuda/check.hpp"

namespace attend::flash {
namespace {

constexpr int kRowsPerBlock = 4;

template <class T>
__global__ void __launch_bounds__(kRowsPerBlock * 32)
    combine_kernel(const __grid_constant__ FlashParams p) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int i = static_cast<int>(blockIdx.x) * kRowsPerBlock + static_cast<int>(threadIdx.x) / 32;
  const int h = static_cast<int>(blockIdx.y), b = static_cast<int>(blockIdx.z);
  int q_start = 0, q_len = p.Sq;
  if (p.cu_q != nullptr) {
    q_start = p.cu_q[b];
    q_len = p.cu_q[b + 1] - q_start;
  }
  if (i >= q_len) return;
  const std::int64_t split_stride = static_cast<std::int64_t>(p.B) * p.Hq * p.Sq;
  const std::int64_t row = (static_cast<std::int64_t>(b) * p.Hq + h) * p.Sq + i;

  float m = -INFINITY;
  for (int s = 0; s < p.num_splits; ++s) m = fmaxf(m, p.lse_partial[s * split_stride + row]);
  const float base = m == -INFINITY ? 0.f : m;
  float sum = 0.f;
  for (int s = 0; s < p.num_splits; ++s) sum += expf(p.lse_partial[s * split_stride + row] - base);
  const float lse = sum == 0.f ? -INFINITY : base + logf(sum);
  if (p.lse != nullptr && lane == 0) {
    p.lse[b * p.lse_sb + h * p.lse_sh + static_cast<std::int64_t>(q_start + i) * p.lse_sq] = lse;
  }

  T* out = static_cast<T*>(p.out) + b * p.o_sb + static_cast<std::int64_t>(q_start + i) * p.o_ss +
           h * p.o_sh;
  for (int d = lane * 2; d < p.D; d += 64) {
    float acc0 = 0.f, acc1 = 0.f;
    for (int s = 0; s < p.num_splits; ++s) {
      const float l = p.lse_partial[s * split_stride + row];
      if (l == -INFINITY) continue;  // a split that saw no key contributes nothing
      const float w = expf(l - lse);
      const float2 part =
          *reinterpret_cast<const float2*>(p.o_partial + (s * split_stride + row) * p.D + d);
      acc0 += w * part.x;
      acc1 += w * part.y;
    }
    *reinterpret_cast<std::uint32_t*>(out + d) = pack2<T>(acc0, acc1);
  }
}

}  // namespace

template <class T>
void launch_combine(const FlashParams& p, cudaStream_t stream) {
  const dim3 grid((p.Sq + kRowsPerBlock - 1) / kRowsPerBlock, p.Hq, p.B);
  combine_kernel<T><<<grid, kRowsPerBlock * 32, 0, stream>>>(p);
  ATTEND_CUDA_CHECK_LAUNCH("flash combine_kernel");
}

template void launch_combine<__half>(const FlashParams&, cudaStream_t);
template void launch_combine<__nv_bfloat16>(const FlashParams&, cudaStream_t);

}  // namespace attend::flash
