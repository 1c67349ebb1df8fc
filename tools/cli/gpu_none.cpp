// The CLI's GPU layer in a build without CUDA: `--device auto` stays on the CPU, and anything
// that reaches here says why it cannot run.
#include "attend/error.hpp"
#include "core/cuda_devices.hpp"
#include "gemm_ceiling.hpp"
#include "gpu_runtime.hpp"

namespace attend::cli {
namespace {

[[noreturn]] void unavailable() {
  throw Error(Code::unavailable, "attend: " + core::cuda_devices().reason);
}

}  // namespace

GpuInfo gpu_info(int) {
  unavailable();
}

GpuStream::GpuStream() {
  unavailable();
}
GpuStream::~GpuStream() = default;
void GpuStream::synchronize() const {}

Timing time_on_stream(void*, const std::function<void(int)>&, int, int) {
  unavailable();
}

GemmCeiling measure_gpu_gemm_ceiling(void*, int, int) {
  unavailable();
}

}  // namespace attend::cli
