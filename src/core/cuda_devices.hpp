// What this process knows about its CUDA devices, read once. Plain C++ (no CUDA types), so the
// dispatcher and every GPU backend's registration compile and answer the same way in a build
// without CUDA, where the list is empty and the reason says why.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "attend/backend.hpp"

namespace attend::core {

struct CudaDeviceInfo {
  int index = 0;
  int sm = 0;                      // compute capability, major*10 + minor
  int sm_count = 0;                // streaming multiprocessors
  std::size_t smem_per_block = 0;  // opt-in dynamic shared memory limit per block, bytes
  std::size_t smem_per_sm = 0;
  std::size_t l2_bytes = 0;
  std::string name;
};

struct CudaDevices {
  std::vector<CudaDeviceInfo> list;  // empty: no usable device
  std::string reason;                // why the list is empty ("no CUDA device", ...)
};

// Queried once per process (thread-safe); never throws.
const CudaDevices& cuda_devices();

// The device a problem names, or nullptr when the index is out of range.
const CudaDeviceInfo* cuda_device(int index);

// Availability of a GPU backend that needs compute capability in [min_sm, max_sm] (0 = no
// bound): `score` when device 0 qualifies, otherwise 0 with the reason.
Availability cuda_availability(int min_sm, int max_sm, int score);

// "sm_80 or newer", "sm_90", "sm_80..sm_89".
std::string sm_range(int min_sm, int max_sm);

}  // namespace attend::core
