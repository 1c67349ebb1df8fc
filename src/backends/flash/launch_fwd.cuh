// Launches one flash instantiation (dtype × head dim, with or without softcap/dropout code).
// Included by the generated per-head-dim translation units, which instantiate it.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>

#include "backends/flash/kernel.cuh"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::flash {

template <class T, int kD, class C>
constexpr int smem_bytes() {
  return (C::kBlockM + 2 * C::kBlockN) * kD * static_cast<int>(sizeof(T));
}

template <class T, int kD, class C = TileConfig<kD>>
void launch_fwd_tiles(const FlashParams& p, bool features, cudaStream_t stream) {
  constexpr int kSmem = smem_bytes<T, kD, C>();
  auto kernel = features ? flash_fwd_kernel<T, kD, true, C> : flash_fwd_kernel<T, kD, false, C>;
  static std::atomic<std::uint64_t> opted_in[2] = {0, 0};
  cuda::allow_shared_memory(reinterpret_cast<const void*>(kernel), kSmem, opted_in[features]);
  const dim3 grid((p.Sq + C::kBlockM - 1) / C::kBlockM, p.Hq * p.num_splits, p.B);
  kernel<<<grid, C::kThreads, kSmem, stream>>>(p);
  ATTEND_CUDA_CHECK_LAUNCH("flash_fwd_kernel");
}

template <class T, int kD>
void launch_fwd(const FlashParams& p, bool features, cudaStream_t stream) {
  launch_fwd_tiles<T, kD>(p, features, stream);
}

}  // namespace attend::flash
