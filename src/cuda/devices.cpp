// cuda_devices() with CUDA in the build: the device count and each device's properties, read
// once. A machine without a GPU or a driver gets an empty list and CUDA's own reason.
#include <cuda_runtime.h>

#include <string>

#include "core/cuda_devices.hpp"

namespace attend::core {
namespace {

CudaDevices query() {
  CudaDevices out;
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    (void)cudaGetLastError();  // clear the sticky-free error so later calls start clean
    out.reason = e == cudaSuccess ? std::string("no CUDA device")
                                  : std::string("no CUDA device: ") + cudaGetErrorString(e);
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      (void)cudaGetLastError();
      continue;
    }
    CudaDeviceInfo d;
    d.index = i;
    d.sm = prop.major * 10 + prop.minor;
    d.sm_count = prop.multiProcessorCount;
    d.smem_per_block = prop.sharedMemPerBlockOptin;
    d.smem_per_sm = prop.sharedMemPerMultiprocessor;
    d.l2_bytes = static_cast<std::size_t>(prop.l2CacheSize);
    d.name = prop.name;
    out.list.push_back(std::move(d));
  }
  if (out.list.empty()) out.reason = "no CUDA device: properties could not be read";
  return out;
}

}  // namespace

const CudaDevices& cuda_devices() {
  static const CudaDevices devices = query();
  return devices;
}

}  // namespace attend::core
