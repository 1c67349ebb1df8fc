// DeviceProblem: every present view of a HostProblem's Params copied to a CUDA device with the
// same span and strides, so backends see exactly the layouts the host problem describes. Built
// without CUDA it only says that no device is there.
#include "support/device_problem.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "attend/error.hpp"
#include "core/cuda_devices.hpp"

#ifdef ATTEND_SUPPORT_WITH_CUDA
#include <cuda_runtime.h>

#include "cuda/check.hpp"
#include "cuda/runtime.hpp"
#endif

namespace attend::support {

bool cuda_device_present() {
  return !core::cuda_devices().list.empty();
}

#ifdef ATTEND_SUPPORT_WITH_CUDA

namespace {

// Bytes from a view's first element to one past its last (0 for an empty or absent view).
std::size_t span_bytes(const TensorView& t) {
  if (!t.present() || t.numel() <= 0) return 0;
  std::int64_t last = 0;
  for (int i = 0; i < t.rank; ++i) last += (t.shape[i] - 1) * t.strides[i];
  return static_cast<std::size_t>(last + 1) * size_of(t.dtype);
}

// One device allocation, freed with the problem.
struct DeviceBuffer {
  void* data = nullptr;
  std::size_t bytes = 0;
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t n) : bytes(n) {
    if (n > 0) ATTEND_CUDA_CHECK(cudaMalloc(&data, n));
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : data(o.data), bytes(o.bytes) { o.data = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(data, o.data);
    std::swap(bytes, o.bytes);
    return *this;
  }
  ~DeviceBuffer() {
    if (data) (void)cudaFree(data);
  }
};

}  // namespace

struct DeviceProblem::Impl {
  struct Inputs {
    DeviceBuffer q, k, v;
  };
  int device;
  cudaStream_t stream;
  Output blank;                     // poisoned host outputs, the template of every download
  Params params;                    // over the original inputs (rotation 0)
  std::vector<Inputs> rotations;    // copy 0 is what params points at
  std::vector<DeviceBuffer> other;  // masks and cu_seqlens
  DeviceBuffer out, lse;

  Impl(const HostProblem& host, int dev, void* s)
      : device(dev), stream(static_cast<cudaStream_t>(s)), blank(host.make_output()) {}

  // A device copy of a host view; the view is redirected to it.
  DeviceBuffer upload(TensorView& t) const {
    DeviceBuffer b(span_bytes(t));
    if (b.bytes > 0) {
      ATTEND_CUDA_CHECK(cudaMemcpyAsync(b.data, t.data, b.bytes, cudaMemcpyHostToDevice, stream));
    }
    t.data = b.data;
    t.device = Device::cuda(device);
    return b;
  }

  // A device buffer with an output view's span, for the kernels to write.
  DeviceBuffer allocate(TensorView& t) const {
    DeviceBuffer b(span_bytes(t));
    t.data = b.data;
    t.device = Device::cuda(device);
    return b;
  }

  Inputs copy_inputs() const {
    const Inputs& first = rotations.front();
    Inputs in{DeviceBuffer(first.q.bytes), DeviceBuffer(first.k.bytes),
              DeviceBuffer(first.v.bytes)};
    const std::pair<const DeviceBuffer*, DeviceBuffer*> copies[3] = {
        {&first.q, &in.q}, {&first.k, &in.k}, {&first.v, &in.v}};
    for (const auto& [from, to] : copies) {
      if (from->bytes == 0) continue;
      ATTEND_CUDA_CHECK(
          cudaMemcpyAsync(to->data, from->data, from->bytes, cudaMemcpyDeviceToDevice, stream));
    }
    return in;
  }
};

DeviceProblem::DeviceProblem(const HostProblem& host, int device, void* stream) {
  if (!cuda_device_present()) {
    throw Error(Code::unavailable, "attend: DeviceProblem: " + core::cuda_devices().reason);
  }
  impl_ = std::make_unique<Impl>(host, device, stream);
  Impl& m = *impl_;
  cuda::DeviceGuard on(device);
  Output staging = host.make_output();  // host views of out/lse, for their shapes and strides
  m.params = host.params(staging);
  Params& p = m.params;
  m.rotations.emplace_back();
  m.rotations[0].q = m.upload(p.q);
  m.rotations[0].k = m.upload(p.k);
  m.rotations[0].v = m.upload(p.v);
  for (TensorView* t : {&p.attn_mask, &p.key_padding_mask, &p.cu_seqlens_q, &p.cu_seqlens_k}) {
    if (t->present()) m.other.push_back(m.upload(*t));
  }
  m.out = m.allocate(p.out);
  if (p.lse.present()) m.lse = m.allocate(p.lse);
  p.stream = stream;
  poison_outputs();
  ATTEND_CUDA_CHECK(cudaStreamSynchronize(m.stream));
}

DeviceProblem::~DeviceProblem() {
  if (!impl_) return;
  // Work the caller enqueued may still use the buffers; freeing them waits for the device.
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) previous = impl_->device;
  (void)cudaSetDevice(impl_->device);
  (void)cudaStreamSynchronize(impl_->stream);
  impl_.reset();
  (void)cudaSetDevice(previous);
}

const Params& DeviceProblem::params() const {
  return impl_->params;
}

void DeviceProblem::poison_outputs() {
  Impl& m = *impl_;
  cuda::DeviceGuard on(m.device);
  for (DeviceBuffer* b : {&m.out, &m.lse}) {
    if (b->bytes > 0) {
      ATTEND_CUDA_CHECK(cudaMemsetAsync(b->data, 0xFF, b->bytes, m.stream));
    }
  }
}

Output DeviceProblem::download() const {
  const Impl& m = *impl_;
  cuda::DeviceGuard on(m.device);
  ATTEND_CUDA_CHECK(cudaStreamSynchronize(m.stream));
  Output o = m.blank;
  // Host outputs are contiguous like the device ones: the device span is a prefix of them.
  if (m.out.bytes > 0) {
    ATTEND_CUDA_CHECK(cudaMemcpy(o.out.data(), m.out.data, m.out.bytes, cudaMemcpyDeviceToHost));
  }
  if (m.lse.bytes > 0) {
    ATTEND_CUDA_CHECK(cudaMemcpy(o.lse.data(), m.lse.data, m.lse.bytes, cudaMemcpyDeviceToHost));
  }
  return o;
}

Params DeviceProblem::rotated(int i) {
  const Impl::Inputs& in = impl_->rotations.at(static_cast<std::size_t>(i));
  Params p = impl_->params;
  p.q.data = in.q.data;
  p.k.data = in.k.data;
  p.v.data = in.v.data;
  return p;
}

int DeviceProblem::rotations() const {
  return static_cast<int>(impl_->rotations.size());
}

void DeviceProblem::make_rotations(int n) {
  Impl& m = *impl_;
  cuda::DeviceGuard on(m.device);
  while (static_cast<int>(m.rotations.size()) < n) m.rotations.push_back(m.copy_inputs());
}

#else  // built without CUDA

struct DeviceProblem::Impl {};

DeviceProblem::DeviceProblem(const HostProblem&, int, void*) {
  throw Error(Code::unavailable, "attend: DeviceProblem: " + core::cuda_devices().reason);
}
DeviceProblem::~DeviceProblem() = default;
const Params& DeviceProblem::params() const {
  throw Error(Code::unavailable, "attend: built without CUDA");
}
void DeviceProblem::poison_outputs() {}
Output DeviceProblem::download() const {
  return {};
}
Params DeviceProblem::rotated(int) {
  return {};
}
int DeviceProblem::rotations() const {
  return 0;
}
void DeviceProblem::make_rotations(int) {}

#endif

}  // namespace attend::support
