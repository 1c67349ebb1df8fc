// The CUDA side of one call: the problem's device made current, its stream, and scratch memory
// that never costs a host synchronisation and is never allocated during graph capture.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "attend/problem.hpp"

namespace attend::cuda {

inline cudaStream_t stream_of(const Problem& p) {
  return static_cast<cudaStream_t>(p.stream);
}

// Makes `device` current for the scope and restores the caller's device after it.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

bool is_capturing(cudaStream_t stream);

// Scratch memory for the work a call enqueues on `stream`. One buffer is cached per (device,
// stream) and grows stream-ordered (cudaMallocAsync/cudaFreeAsync: the host never waits). During
// graph capture it never allocates: a buffer too small then is an Error that says to run the
// problem once before capturing. The lease holds the buffer until the call has enqueued its work,
// so two threads sharing a stream cannot free each other's scratch.
class WorkspaceLease {
 public:
  WorkspaceLease(int device, cudaStream_t stream, std::size_t bytes);
  void* data() const noexcept { return data_; }
  template <class T>
  T* as(std::size_t byte_offset = 0) const noexcept {
    return reinterpret_cast<T*>(static_cast<char*>(data_) + byte_offset);
  }

 private:
  std::unique_lock<std::mutex> lock_;
  void* data_ = nullptr;
};

// Lets `kernel` take `bytes` of dynamic shared memory on the current device (beyond 48 KB that
// is an opt-in per kernel and device). `done` is the kernel's own bitmask of devices already
// set, so the attribute call happens once per (kernel, device).
void allow_shared_memory(const void* kernel, int bytes, std::atomic<std::uint64_t>& done);

// Rounds a byte count up so that the next piece of a workspace starts 256-byte aligned.
constexpr std::size_t align_up(std::size_t bytes, std::size_t to = 256) {
  return (bytes + to - 1) / to * to;
}

}  // namespace attend::cuda
