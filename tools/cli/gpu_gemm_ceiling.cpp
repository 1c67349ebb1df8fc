#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

#include "attend/error.hpp"
#include "cuda/check.hpp"
#include "cuda/cublas.hpp"
#include "gemm_ceiling.hpp"
#include "gpu_runtime.hpp"

namespace attend::cli {
namespace {

struct DeviceBuffer {
  void* data = nullptr;
  explicit DeviceBuffer(std::size_t bytes) { ATTEND_CUDA_CHECK(cudaMalloc(&data, bytes)); }
  ~DeviceBuffer() { (void)cudaFree(data); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

struct Handle {
  cublasHandle_t h = nullptr;
  Handle() { ATTEND_CUBLAS_CHECK(cublasCreate(&h)); }
  ~Handle() { (void)cublasDestroy(h); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

// Uniform values in [-1, 1): zeros would flatter the tensor cores' power draw.
std::vector<__nv_bfloat16> random_bf16(std::size_t count) {
  std::vector<__nv_bfloat16> out(count);
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (auto& v : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v = __float2bfloat16(static_cast<float>(x >> 40) / static_cast<float>(1 << 23) - 1.0f);
  }
  return out;
}

}  // namespace

GemmCeiling measure_gpu_gemm_ceiling(void* stream, int n, int runs) {
  const std::size_t count = static_cast<std::size_t>(n) * static_cast<std::size_t>(n);
  const std::size_t bytes = count * sizeof(__nv_bfloat16);
  DeviceBuffer a(bytes), b(bytes), c(bytes);
  const std::vector<__nv_bfloat16> host = random_bf16(count);
  ATTEND_CUDA_CHECK(cudaMemcpy(a.data, host.data(), bytes, cudaMemcpyHostToDevice));
  ATTEND_CUDA_CHECK(cudaMemcpy(b.data, host.data(), bytes, cudaMemcpyHostToDevice));
  Handle handle;
  ATTEND_CUBLAS_CHECK(cublasSetStream(handle.h, static_cast<cudaStream_t>(stream)));
  const float alpha = 1.0f, beta = 0.0f;
  const Timing t = time_on_stream(
      stream,
      [&](int) {
        ATTEND_CUBLAS_CHECK(cublasGemmEx(handle.h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha,
                                         a.data, CUDA_R_16BF, n, b.data, CUDA_R_16BF, n, &beta,
                                         c.data, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                                         CUBLAS_GEMM_DEFAULT));
      },
      3, runs);
  const double flops = 2.0 * n * static_cast<double>(n) * n;
  return {fmt::format("cublas bf16 gemm {}^3 fp32-accumulate", n), gflops(flops, t.median_ms),
          t.median_ms, runs};
}

}  // namespace attend::cli
