// The machine's GEMM ceiling, measured in the same run as the attention numbers, so that each
// result can be read as a fraction of what the device does on dense math: OpenBLAS fp32 on a
// CPU, cuBLAS bf16 on a GPU.
#pragma once

#include <string>

namespace attend::cli {

struct GemmCeiling {
  std::string what;  // "openblas sgemm 2048^3 fp32", "cublas bf16 gemm 8192^3 fp32-accumulate"
  double gflops = 0.0;
  double median_ms = 0.0;
  int runs = 0;
};

// Median of `runs` timed cblas_sgemm calls (after one warm-up) at M = N = K = n on random data.
GemmCeiling measure_gemm_ceiling(int n = 2048, int runs = 5);

// cublasGemmEx on device 0, bf16 in and out with fp32 accumulation, M = N = K = n, random data,
// timed with CUDA events on `stream` (3 warm-up runs, median of `runs`). gpu_gemm_ceiling.cpp.
GemmCeiling measure_gpu_gemm_ceiling(void* stream, int n = 8192, int runs = 20);

}  // namespace attend::cli
