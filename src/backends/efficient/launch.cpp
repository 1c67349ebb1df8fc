// The `efficient` backend's launches: half precision on flash's tensor-core kernel with the
// masks added to the scores, fp32 on the exact fp32 kernel.
#include "backends/efficient/launch.hpp"

#include "backends/flash/launch.hpp"
#include "cuda/runtime.hpp"

namespace attend::efficient {

void run(const Problem& p) {
  if (p.B == 0 || p.Hq == 0 || p.Sq == 0) return;
  if (p.dtype != DType::f32) return flash::run_masked(p);
  cuda::DeviceGuard guard(p.device.index);
  run_f32(p);
}

}  // namespace attend::efficient
