// The machine's fp32 GEMM ceiling, measured with OpenBLAS in the same run as the attention
// numbers, so that each result can be read as a fraction of what this CPU does on dense math.
#pragma once

#include <string>

namespace attend::cli {

struct GemmCeiling {
  std::string what;  // "openblas sgemm 2048^3 fp32"
  double gflops = 0.0;
  double median_ms = 0.0;
  int runs = 0;
};

// Median of `runs` timed cblas_sgemm calls (after one warm-up) at M = N = K = n on random data.
GemmCeiling measure_gemm_ceiling(int n = 2048, int runs = 5);

}  // namespace attend::cli
