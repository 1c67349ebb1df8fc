#include "timing.hpp"

#include <algorithm>
#include <chrono>

namespace attend::cli {

Timing time_calls(const std::function<void()>& call, int warmup, int repeat) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < warmup; ++i) call();
  std::vector<double> samples;
  for (int i = 0; i < std::max(repeat, 1); ++i) {
    const auto start = Clock::now();
    call();
    const auto stop = Clock::now();
    samples.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  return summarize(std::move(samples));
}

Timing summarize(std::vector<double> samples_ms) {
  Timing t;
  t.samples_ms = std::move(samples_ms);
  std::vector<double> sorted = t.samples_ms;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  t.median_ms = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  t.min_ms = sorted.front();
  t.max_ms = sorted.back();
  return t;
}

double gflops(double flops, double ms) {
  return ms > 0 ? flops / (ms * 1e-3) / 1e9 : 0.0;
}

}  // namespace attend::cli
