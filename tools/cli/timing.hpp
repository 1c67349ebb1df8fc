// Wall-clock timing of a host call: warm-up runs, then the median of timed repeats. CPU backends
// finish their work before returning, so the host clock measures the kernel. (GPU runs are timed
// with CUDA events: gpu_runtime.hpp.)
#pragma once

#include <functional>
#include <vector>

namespace attend::cli {

struct Timing {
  double median_ms = 0.0;
  double min_ms = 0.0;
  double max_ms = 0.0;
  std::vector<double> samples_ms;
};

Timing time_calls(const std::function<void()>& call, int warmup, int repeat);

// Median, min and max of samples in milliseconds (at least one).
Timing summarize(std::vector<double> samples_ms);

// GFLOP/s of `flops` done in `ms` milliseconds.
double gflops(double flops, double ms);

}  // namespace attend::cli
