#include "cuda/runtime.hpp"

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "cuda/check.hpp"

namespace attend::cuda {

DeviceGuard::DeviceGuard(int device) {
  ATTEND_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ == device) {
    previous_ = -1;  // nothing to restore
    return;
  }
  ATTEND_CUDA_CHECK(cudaSetDevice(device));
}

DeviceGuard::~DeviceGuard() {
  if (previous_ >= 0) (void)cudaSetDevice(previous_);
}

bool is_capturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &status) != cudaSuccess) {
    (void)cudaGetLastError();
    return true;  // the legacy stream during another stream's global capture: treat as capture
  }
  return status != cudaStreamCaptureStatusNone;
}

namespace {

struct Buffer {
  std::mutex mutex;
  void* data = nullptr;
  std::size_t bytes = 0;
};

struct Pool {
  std::mutex mutex;
  std::map<std::pair<int, cudaStream_t>, std::unique_ptr<Buffer>> buffers;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: outlives static destructors that still run work
  return *p;
}

Buffer& buffer_for(int device, cudaStream_t stream) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  auto& slot = p.buffers[{device, stream}];
  if (!slot) slot = std::make_unique<Buffer>();
  return *slot;
}

}  // namespace

WorkspaceLease::WorkspaceLease(int device, cudaStream_t stream, std::size_t bytes) {
  Buffer& b = buffer_for(device, stream);
  lock_ = std::unique_lock<std::mutex>(b.mutex);
  if (bytes > b.bytes) {
    if (is_capturing(stream)) {
      throw Error(Code::runtime,
                  "attend: this call needs " + std::to_string(bytes) +
                      " bytes of GPU workspace on its stream, more than was sized before graph "
                      "capture began (" +
                      std::to_string(b.bytes) +
                      "); run the same problem once on this stream before capturing");
    }
    if (b.data) ATTEND_CUDA_CHECK(cudaFreeAsync(b.data, stream));
    b.data = nullptr;
    b.bytes = 0;
    const std::size_t grown = align_up(bytes, std::size_t{1} << 20);
    ATTEND_CUDA_CHECK(cudaMallocAsync(&b.data, grown, stream));
    b.bytes = grown;
  }
  data_ = b.data;
}

void allow_shared_memory(const void* kernel, int bytes, std::atomic<std::uint64_t>& done) {
  int device = 0;
  ATTEND_CUDA_CHECK(cudaGetDevice(&device));
  const std::uint64_t bit = std::uint64_t{1} << (device & 63);
  if ((done.load(std::memory_order_acquire) & bit) != 0) return;
  ATTEND_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  done.fetch_or(bit, std::memory_order_acq_rel);
}

}  // namespace attend::cuda
