// Wall-clock timing of a host call: warm-up runs, then the median of timed repeats. CPU backends
// finish their work before returning, so the host clock measures the kernel.
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

// GFLOP/s of `flops` done in `ms` milliseconds.
double gflops(double flops, double ms);

}  // namespace attend::cli
