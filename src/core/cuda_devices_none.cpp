// cuda_devices() for a build without CUDA: no device, and the reason says how to get one.
#include "core/cuda_devices.hpp"

namespace attend::core {

const CudaDevices& cuda_devices() {
  static const CudaDevices none{{},
                                "no CUDA device: attend was built without CUDA (ATTEND_CUDA=OFF)"};
  return none;
}

}  // namespace attend::core
