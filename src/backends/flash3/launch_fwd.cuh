// Launches one flash3 instantiation (dtype × head dim, plain or general softmax). Included by
// the generated per-head-dim translation units, which instantiate it.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>

#include "backends/flash3/kernel.cuh"
#include "backends/flash3/maps.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::flash3 {

template <class T, int kD>
void launch_fwd(const TensorMaps& maps, const Flash3Params& p, bool general, int grid,
                cudaStream_t stream) {
  constexpr int kSmem = SmemPlan<kD>::kAlloc;
  auto kernel = general ? flash3_fwd_kernel<T, kD, true> : flash3_fwd_kernel<T, kD, false>;
  static std::atomic<std::uint64_t> opted_in[2] = {0, 0};
  cuda::allow_shared_memory(reinterpret_cast<const void*>(kernel), kSmem, opted_in[general]);
  kernel<<<grid, kThreads, kSmem, stream>>>(maps.q, maps.k, maps.v, maps.o, p);
  ATTEND_CUDA_CHECK_LAUNCH("flash3_fwd_kernel");
}

}  // namespace attend::flash3
