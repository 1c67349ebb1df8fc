#include "cuda/cublas.hpp"

#include <string>
#include <vector>

#include "cuda/check.hpp"

namespace attend::cuda {

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  throw_library_error("cuBLAS", call, file, line, cublasGetStatusName(status),
                      cublasGetStatusString(status));
}

namespace {

// Handles of one thread, by device index; destroyed when the thread ends. Errors at that point
// (the runtime may already be shutting down at process exit) are ignored.
struct ThreadHandles {
  std::vector<cublasHandle_t> by_device;
  ~ThreadHandles() {
    for (cublasHandle_t h : by_device) {
      if (h) (void)cublasDestroy(h);
    }
  }
};

cublasHandle_t create_handle() {
  cublasHandle_t h = nullptr;
  ATTEND_CUBLAS_CHECK(cublasCreate(&h));
  const cublasStatus_t mode = cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH);
  if (mode != CUBLAS_STATUS_SUCCESS) {
    (void)cublasDestroy(h);
    check(mode, "cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH)", __FILE__, __LINE__);
  }
  return h;
}

}  // namespace

cublasHandle_t cublas_handle(cudaStream_t stream, void* workspace, std::size_t workspace_bytes) {
  thread_local ThreadHandles handles;
  int device = 0;
  ATTEND_CUDA_CHECK(cudaGetDevice(&device));
  const auto slot = static_cast<std::size_t>(device);
  if (handles.by_device.size() <= slot) handles.by_device.resize(slot + 1, nullptr);
  cublasHandle_t& h = handles.by_device[slot];
  if (!h) h = create_handle();
  ATTEND_CUBLAS_CHECK(cublasSetStream(h, stream));
  ATTEND_CUBLAS_CHECK(cublasSetWorkspace(h, workspace, workspace_bytes));
  return h;
}

}  // namespace attend::cuda
