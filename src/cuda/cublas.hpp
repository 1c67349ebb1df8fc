// cuBLAS for the GPU backends: every call checked (a failure becomes attend::Error, Code::runtime,
// with the status name), and one handle per (device, thread), bound per call to the caller's
// stream and to workspace the caller owns, so cuBLAS itself never allocates (graph capture).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>

#include "attend/error.hpp"

namespace attend::cuda {

[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file,
                                     int line);

inline void check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) throw_cublas_error(status, call, file, line);
}

// Workspace to hand cuBLAS per call: what NVIDIA recommends for Hopper, enough for older GPUs.
inline constexpr std::size_t kCublasWorkspaceBytes = std::size_t{32} << 20;

// This thread's handle for the current device, created on first use with pedantic fp32 math (no
// TF32, no reduced-precision reductions), then set to `stream` and `workspace` for this call.
// cublasSetStream resets the workspace, so both are set every time, in that order.
cublasHandle_t cublas_handle(cudaStream_t stream, void* workspace, std::size_t workspace_bytes);

}  // namespace attend::cuda

#define ATTEND_CUBLAS_CHECK(call) ::attend::cuda::check((call), #call, __FILE__, __LINE__)
