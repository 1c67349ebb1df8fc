#include "gpu_runtime.hpp"

#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "attend/error.hpp"
#include "core/cuda_devices.hpp"
#include "cuda/check.hpp"

namespace attend::cli {
namespace {

// Events created up front and destroyed on every path out.
struct Events {
  std::vector<cudaEvent_t> list;
  explicit Events(std::size_t n) {
    list.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      cudaEvent_t e = nullptr;
      ATTEND_CUDA_CHECK(cudaEventCreate(&e));
      list.push_back(e);
    }
  }
  ~Events() {
    for (cudaEvent_t e : list) (void)cudaEventDestroy(e);
  }
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;
};

}  // namespace

GpuInfo gpu_info(int device) {
  const core::CudaDeviceInfo* dev = core::cuda_device(device);
  if (dev == nullptr) throw Error(Code::unavailable, "attend: " + core::cuda_devices().reason);
  GpuInfo info;
  info.name = dev->name;
  info.sm = dev->sm;
  info.l2_bytes = dev->l2_bytes;
  ATTEND_CUDA_CHECK(cudaSetDevice(device));
  ATTEND_CUDA_CHECK(cudaMemGetInfo(&info.free_bytes, &info.total_bytes));
  return info;
}

GpuStream::GpuStream() {
  cudaStream_t s = nullptr;
  ATTEND_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  stream_ = s;
}

GpuStream::~GpuStream() {
  (void)cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  (void)cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
}

void GpuStream::synchronize() const {
  ATTEND_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)));
}

Timing time_on_stream(void* stream, const std::function<void(int)>& call, int warmup, int repeat) {
  const auto s = static_cast<cudaStream_t>(stream);
  const int n = repeat < 1 ? 1 : repeat;
  Events start(static_cast<std::size_t>(n)), stop(static_cast<std::size_t>(n));
  int index = 0;
  for (int i = 0; i < warmup; ++i) call(index++);
  for (int i = 0; i < n; ++i) {
    ATTEND_CUDA_CHECK(cudaEventRecord(start.list[static_cast<std::size_t>(i)], s));
    call(index++);
    ATTEND_CUDA_CHECK(cudaEventRecord(stop.list[static_cast<std::size_t>(i)], s));
  }
  ATTEND_CUDA_CHECK(cudaEventSynchronize(stop.list.back()));
  ATTEND_CUDA_CHECK(cudaStreamSynchronize(s));  // surfaces errors of the runs
  std::vector<double> samples;
  for (int i = 0; i < n; ++i) {
    float ms = 0.0f;
    ATTEND_CUDA_CHECK(cudaEventElapsedTime(&ms, start.list[static_cast<std::size_t>(i)],
                                           stop.list[static_cast<std::size_t>(i)]));
    samples.push_back(ms);
  }
  return summarize(std::move(samples));
}

}  // namespace attend::cli
