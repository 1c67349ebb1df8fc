// Host time of one attend::attention call on a GPU backend in steady state: a tiny problem
// (the GPU is never the bottleneck), each backend warmed up first (so cudnn's plan is cached),
// then batches of calls enqueued back to back; the host time per call is the median over
// batches. The host never waits inside a batch, so this is what a call costs the caller's
// thread: attend's dispatch plus the backend's own launch work. Where cuDNN's headers were
// found, cuDNN's own execute of the same problem is timed too (`cudnn-floor`): attend's part of a
// cudnn call is the difference.
//   bench_host_overhead [backend ...]        (default: flash3 cudnn flash efficient)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "attend/attend.hpp"
#include "support/device_problem.hpp"
#include "support/host_problem.hpp"

#if ATTEND_BENCH_CUDNN_FLOOR
#include "cudnn_floor.hpp"
#endif

namespace {

// Median host time per call over batches of calls, after a warm-up; `wait`
// drains the queue between batches so no batch waits on the GPU.
double host_us_per_call(const std::function<void()>& call, const std::function<void()>& wait) {
  constexpr int kCalls = 200, kBatches = 31;
  for (int i = 0; i < 20; ++i) call();
  wait();
  std::vector<double> per_call;
  for (int batch = 0; batch < kBatches; ++batch) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) call();
    const auto t1 = std::chrono::steady_clock::now();
    per_call.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / kCalls);
    wait();
  }
  std::nth_element(per_call.begin(), per_call.begin() + kBatches / 2, per_call.end());
  return per_call[kBatches / 2];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace attend;
  std::vector<std::string> backends(argv + 1, argv + argc);
  if (backends.empty()) backends = {"flash3", "cudnn", "flash", "efficient"};
  if (!support::cuda_device_present()) {
    std::printf("no CUDA device: nothing to measure\n");
    return 0;
  }
  support::ProblemSpec spec;
  spec.dtype = DType::bf16;
  spec.B = 1, spec.Hq = 2, spec.Hkv = 2, spec.Sq = 128, spec.Sk = 128, spec.D = 64;
  const support::HostProblem host(spec);
  support::DeviceProblem dev(host);
  const Params& p = dev.params();
  std::printf("backend      host us/call (median of 31 batches of 200 calls)\n");
  for (const std::string& b : backends) {
    try {
      const double us = host_us_per_call([&] { attention(p, b); }, [&] { dev.download(); });
      std::printf("%-12s %.2f\n", b.c_str(), us);
    } catch (const std::exception& e) {
      std::printf("%-12s skipped: %s\n", b.c_str(), e.what());
    }
  }
#if ATTEND_BENCH_CUDNN_FLOOR
  try {
    CudnnFloor floor;
    const double us = host_us_per_call([&] { floor.call(); }, [&] { dev.download(); });
    std::printf("%-12s %.2f   (cuDNN's execute alone, same problem, no attend)\n", "cudnn-floor",
                us);
  } catch (const std::exception& e) {
    std::printf("%-12s skipped: %s\n", "cudnn-floor", e.what());
  }
#endif
  return 0;
}
