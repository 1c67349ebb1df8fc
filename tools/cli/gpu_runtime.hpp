// What the CLI needs from the CUDA runtime, behind a header without CUDA types: the device's
// name and sizes, a stream of its own, and CUDA-event timing. Built from gpu_runtime.cpp when
// the build has CUDA, from gpu_none.cpp (every call throws Code::unavailable) when it does not.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "timing.hpp"

namespace attend::cli {

struct GpuInfo {
  std::string name;  // "NVIDIA H200"
  int sm = 0;        // compute capability, major*10 + minor
  std::size_t l2_bytes = 0;
  std::size_t free_bytes = 0;  // device memory free now
  std::size_t total_bytes = 0;
};

GpuInfo gpu_info(int device = 0);

// A non-blocking stream on device 0, so that timed work shares it with nothing else.
class GpuStream {
 public:
  GpuStream();
  ~GpuStream();
  GpuStream(const GpuStream&) = delete;
  GpuStream& operator=(const GpuStream&) = delete;
  void* get() const { return stream_; }  // cudaStream_t
  void synchronize() const;

 private:
  void* stream_ = nullptr;
};

// `warmup` untimed calls, then `repeat` calls each between two CUDA events on `stream`;
// call(i) gets a running index (warm-up included) to pick its input copy. The host waits only
// once, after the last call, to read the events.
Timing time_on_stream(void* stream, const std::function<void(int)>& call, int warmup, int repeat);

}  // namespace attend::cli
