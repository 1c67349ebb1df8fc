// Launches one flash instantiation (dtype × head dim × variant).
// Included by the generated per-head-dim translation units, which instantiate it.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>

#include "backends/flash/kernel.cuh"
#include "backends/flash/kernels.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::flash {

template <class T, int kD, class C>
constexpr int smem_bytes() {
  return (C::kBlockM + 2 * C::kBlockN) * kD * static_cast<int>(sizeof(T));
}

template <class T, int kD, class C, bool kFeatures, bool kMasks>
void launch_kernel(const FlashParams& p, cudaStream_t stream) {
  constexpr int kSmem = smem_bytes<T, kD, C>();
  auto kernel = flash_fwd_kernel<T, kD, kFeatures, C, kMasks>;
  static std::atomic<std::uint64_t> opted_in{0};
  cuda::allow_shared_memory(reinterpret_cast<const void*>(kernel), kSmem, opted_in);
  const dim3 grid((p.Sq + C::kBlockM - 1) / C::kBlockM, p.Hq * p.num_splits, p.B);
  kernel<<<grid, C::kThreads, kSmem, stream>>>(p);
  ATTEND_CUDA_CHECK_LAUNCH("flash_fwd_kernel");
}

template <class T, int kD, class C = TileConfig<kD>>
void launch_fwd_tiles(const FlashParams& p, Variant variant, cudaStream_t stream) {
  switch (variant) {
    case Variant::plain:
      return launch_kernel<T, kD, C, false, false>(p, stream);
    case Variant::features:
      return launch_kernel<T, kD, C, true, false>(p, stream);
    case Variant::masks:
      return launch_kernel<T, kD, MaskTileConfig<kD>, true, true>(p, stream);
  }
}

template <class T, int kD>
void launch_fwd(const FlashParams& p, Variant variant, cudaStream_t stream) {
  launch_fwd_tiles<T, kD>(p, variant, stream);
}

}  // namespace attend::flash
