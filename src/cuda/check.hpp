// Every CUDA runtime call is checked; a failure becomes attend::Error (Code::runtime) carrying
// the call, its error name and CUDA's message.
#pragma once

#include <cuda_runtime.h>

#include "attend/error.hpp"

namespace attend::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t error, const char* call, const char* file, int line);
// The one message format of failed GPU library calls: "attend: <library> error in <call>
// (<file>:<line>): <name>: <text>".
[[noreturn]] void throw_library_error(const char* library, const char* call, const char* file,
                                      int line, const char* name, const char* text);

inline void check(cudaError_t error, const char* call, const char* file, int line) {
  if (error != cudaSuccess) throw_cuda_error(error, call, file, line);
}

}  // namespace attend::cuda

#define ATTEND_CUDA_CHECK(call) ::attend::cuda::check((call), #call, __FILE__, __LINE__)
// After a kernel launch: configuration errors surface here without synchronising the host.
#define ATTEND_CUDA_CHECK_LAUNCH(kernel) \
  ::attend::cuda::check(cudaGetLastError(), "launch of " kernel, __FILE__, __LINE__)
