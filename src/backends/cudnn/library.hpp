// cuDNN loaded at run time: the library is opened once (ATTEND_CUDNN_LIBRARY, else the loader's
// search for libcudnn.so.9), so libattend never needs it to load; and cuDNN handles, one per
// concurrent call, kept for the life of the process.
#pragma once

#include <cudnn.h>

#include "attend/backend.hpp"

namespace attend::cudnn {

// Opens cuDNN on first use; score 1 when it loaded (the reason names its version), else 0 and
// why. Never throws.
const Availability& loaded_library();

// A handle for `device` (current when the lease is made), bound to `stream` for the lease.
class HandleLease {
 public:
  HandleLease(int device, cudaStream_t stream);
  ~HandleLease();
  HandleLease(const HandleLease&) = delete;
  HandleLease& operator=(const HandleLease&) = delete;
  cudnnHandle_t get() const noexcept { return handle_; }

 private:
  void release() noexcept;
  int device_;
  cudnnHandle_t handle_ = nullptr;
};

// Throws attend::Error (Code::runtime) with cuDNN's message when `status` is not success.
void check_status(cudnnStatus_t status, const char* call);

}  // namespace attend::cudnn
