// The CLI's GPU layer in a build without CUDA: `--device auto` stays on the CPU, and anything
// that reaches here says why it cannot run.
#include "attend/error.hpp"
#include "gemm_ceiling.hpp"
#include "gpu_runtime.hpp"

namespace attend::cli {
namespace {

[[noreturn]] void unavailable() {
  throw Error(Code::unavailable, "attend: " + no_cuda_device_reason());
}

}  // namespace

std::string no_cuda_device_reason() {
  return "this attend was built without CUDA (no CUDA toolkit at configure time, or "
         "-DATTEND_CUDA=OFF)";
}

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
