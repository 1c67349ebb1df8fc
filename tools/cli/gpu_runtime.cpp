#include "gpu_runtime.hpp"

#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "attend/error.hpp"

namespace attend::cli {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw Error(Code::runtime, std::string("attend: ") + what + ": " + cudaGetErrorName(e) + ": " +
                                   cudaGetErrorString(e));
  }
}

// Events created up front and destroyed on every path out.
struct Events {
  std::vector<cudaEvent_t> list;
  explicit Events(std::size_t n) {
    list.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      cudaEvent_t e = nullptr;
      check(cudaEventCreate(&e), "cudaEventCreate");
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
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  GpuInfo info;
  info.name = prop.name;
  info.sm = prop.major * 10 + prop.minor;
  info.l2_bytes = static_cast<std::size_t>(prop.l2CacheSize);
  check(cudaSetDevice(device), "cudaSetDevice");
  check(cudaMemGetInfo(&info.free_bytes, &info.total_bytes), "cudaMemGetInfo");
  return info;
}

std::string no_cuda_device_reason() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return std::string("no CUDA device: ") + cudaGetErrorString(e);
  }
  return count == 0 ? "no CUDA device" : "";
}

GpuStream::GpuStream() {
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  stream_ = s;
}

GpuStream::~GpuStream() {
  (void)cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  (void)cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
}

void GpuStream::synchronize() const {
  check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)), "cudaStreamSynchronize");
}

Timing time_on_stream(void* stream, const std::function<void(int)>& call, int warmup, int repeat) {
  const auto s = static_cast<cudaStream_t>(stream);
  const int n = repeat < 1 ? 1 : repeat;
  Events start(static_cast<std::size_t>(n)), stop(static_cast<std::size_t>(n));
  int index = 0;
  for (int i = 0; i < warmup; ++i) call(index++);
  for (int i = 0; i < n; ++i) {
    check(cudaEventRecord(start.list[static_cast<std::size_t>(i)], s), "cudaEventRecord");
    call(index++);
    check(cudaEventRecord(stop.list[static_cast<std::size_t>(i)], s), "cudaEventRecord");
  }
  check(cudaEventSynchronize(stop.list.back()), "cudaEventSynchronize");
  check(cudaStreamSynchronize(s), "cudaStreamSynchronize");  // surfaces errors of the runs
  std::vector<double> samples;
  for (int i = 0; i < n; ++i) {
    float ms = 0.0f;
    check(cudaEventElapsedTime(&ms, start.list[static_cast<std::size_t>(i)],
                               stop.list[static_cast<std::size_t>(i)]),
          "cudaEventElapsedTime");
    samples.push_back(ms);
  }
  return summarize(std::move(samples));
}

}  // namespace attend::cli
