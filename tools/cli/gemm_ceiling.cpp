#include "gemm_ceiling.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <random>
#include <vector>

#include "timing.hpp"

namespace attend::cli {

GemmCeiling measure_gemm_ceiling(int n, int runs) {
  const std::size_t count = static_cast<std::size_t>(n) * static_cast<std::size_t>(n);
  std::vector<float> a(count), b(count), c(count);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (std::size_t i = 0; i < count; ++i) {
    a[i] = u(rng);
    b[i] = u(rng);
  }
  const Timing t = time_calls(
      [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(),
                    n, 0.0f, c.data(), n);
      },
      1, runs);
  const double flops = 2.0 * n * static_cast<double>(n) * n;
  return {fmt::format("openblas sgemm {}^3 fp32", n), gflops(flops, t.median_ms), t.median_ms,
          runs};
}

}  // namespace attend::cli
