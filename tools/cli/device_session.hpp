// A host problem copied to CUDA device 0 for `attend run` and `attend bench`: a stream of its
// own, and enough copies of q/k/v to rotate through that a timed run does not find its inputs in
// the L2 cache left warm by the run before (DESIGN §7).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attend/params.hpp"
#include "gpu_runtime.hpp"
#include "support/device_problem.hpp"
#include "support/host_problem.hpp"
#include "timing.hpp"

namespace attend::cli {

class DeviceSession {
 public:
  explicit DeviceSession(const support::HostProblem& host);

  // Params over input copy 0, on the session's stream.
  const Params& params() const { return device_.params(); }
  int rotations() const { return static_cast<int>(rotated_.size()); }
  // "NVIDIA H200, 3 input copies of 96.0 MiB rotated (L2 50.0 MiB)".
  std::string describe() const;

  // Warm-up, then `repeat` runs timed with CUDA events, each on the next input copy. `backend`
  // empty: the process default, as attention(params) picks it.
  Timing time(const std::string& backend, int warmup, int repeat);
  // One run on copy 0 into NaN-poisoned outputs, copied back.
  support::Output output(const std::string& backend);

 private:
  GpuInfo info_;
  GpuStream stream_;
  support::DeviceProblem device_;
  double copy_bytes_ = 0.0;
  std::vector<Params> rotated_;
};

// attention() with a named backend, or the process default when `backend` is empty.
void call_backend(const Params& params, const std::string& backend);

// The backend's output for `host` run on a fresh device copy (for small checking problems);
// nullopt when the backend refuses the problem.
std::optional<support::Output> run_on_device(const support::HostProblem& host,
                                             const std::string& backend);

}  // namespace attend::cli
