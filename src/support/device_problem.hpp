// A host problem's tensors copied to a CUDA device, for running GPU backends from the tests, the
// CLI and the benchmarks. Every present view of the host Params (q, k, v, masks, cu_seqlens, out,
// lse) gets a device buffer of the same span and strides; outputs are poisoned with NaN before
// each run and copied back for support::compare().
#pragma once

#include <cstddef>
#include <memory>

#include "attend/params.hpp"
#include "support/host_problem.hpp"

namespace attend::support {

// True when this process can use a CUDA device (false in a build without CUDA).
bool cuda_device_present();

class DeviceProblem {
 public:
  // Copies the inputs of `host` (and its output shapes) to `device`. Throws attend::Error
  // (Code::unavailable) in a build without CUDA or on a machine without a device.
  DeviceProblem(const HostProblem& host, int device = 0, void* stream = nullptr);
  ~DeviceProblem();
  DeviceProblem(const DeviceProblem&) = delete;
  DeviceProblem& operator=(const DeviceProblem&) = delete;

  // Params over the device copies, writing the device out/lse; stream set.
  const Params& params() const;
  // NaN into out (0xFF bytes) and lse, enqueued on the stream.
  void poison_outputs();
  // Waits for the stream and copies out/lse back into a host Output shaped like make_output().
  Output download() const;
  // A fresh copy of q/k/v on the device that the timed loops can rotate through, so repeated
  // runs do not time the L2 cache: returns Params whose q/k/v point at copy `i` (0 = original).
  Params rotated(int i);
  int rotations() const;
  // Makes `n` input copies in total (a no-op when there are already that many).
  void make_rotations(int n);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace attend::support
