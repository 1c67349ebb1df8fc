// Availability and device lookup for GPU backends, on top of the device list (with or without
// CUDA in the build).
#include <string>

#include "core/cuda_devices.hpp"
#include "core/text.hpp"

namespace attend::core {

const CudaDeviceInfo* cuda_device(int index) {
  const CudaDevices& d = cuda_devices();
  if (index < 0 || index >= static_cast<int>(d.list.size())) return nullptr;
  return &d.list[static_cast<std::size_t>(index)];
}

std::string sm_range(int min_sm, int max_sm) {
  if (max_sm == 0) return str("sm_", min_sm, " or newer");
  if (min_sm == max_sm) return str("sm_", min_sm);
  return str("sm_", min_sm, "..sm_", max_sm);
}

Availability cuda_availability(int min_sm, int max_sm, int score) {
  const CudaDevices& d = cuda_devices();
  if (d.list.empty()) return {0, d.reason};
  const CudaDeviceInfo& dev = d.list.front();
  const std::string here = str(dev.name, " (sm_", dev.sm, ", ", dev.sm_count, " SMs)");
  if ((min_sm > 0 && dev.sm < min_sm) || (max_sm > 0 && dev.sm > max_sm)) {
    return {0, str("needs ", sm_range(min_sm, max_sm), "; device 0 is ", here)};
  }
  return {score, here};
}

}  // namespace attend::core
