#include "device_session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "attend/registry.hpp"
#include "problem_size.hpp"

namespace attend::cli {
namespace {

constexpr int kMaxRotations = 64;  // beyond this, a problem is too small for L2 to matter
constexpr double kRotationMemoryShare = 0.5;  // of the device memory free after the first copy

// Copies such that together they are at least twice the L2 size, at least two, and no more than
// half of the free device memory allows.
int rotation_count(double copy_bytes, const GpuInfo& info) {
  if (copy_bytes <= 0) return 1;
  int n = std::max(
      2, static_cast<int>(std::ceil(2.0 * static_cast<double>(info.l2_bytes) / copy_bytes)));
  n = std::min(n, kMaxRotations);
  const double spare = kRotationMemoryShare * static_cast<double>(info.free_bytes);
  const int fit = 1 + static_cast<int>(spare / copy_bytes);
  return std::max(1, std::min(n, fit));
}

std::string mib(double bytes) {
  return fmt::format("{:.1f} MiB", bytes / (1 << 20));
}

}  // namespace

void call_backend(const Params& params, const std::string& backend) {
  if (backend.empty()) {
    attention(params);
  } else {
    attention(params, backend);
  }
}

DeviceSession::DeviceSession(const support::HostProblem& host)
    : info_(gpu_info(0)),
      stream_(),
      device_(host, 0, stream_.get()),
      copy_bytes_(input_bytes(host.spec())) {
  const int n = rotation_count(copy_bytes_, gpu_info(0));
  device_.make_rotations(n);
  for (int i = 0; i < device_.rotations(); ++i) rotated_.push_back(device_.rotated(i));
  stream_.synchronize();  // the copies are done before anything is timed
}

std::string DeviceSession::describe() const {
  return fmt::format("{}, {} input cop{} of {} rotated (L2 {})", info_.name, rotations(),
                     rotations() == 1 ? "y" : "ies", mib(copy_bytes_),
                     mib(static_cast<double>(info_.l2_bytes)));
}

Timing DeviceSession::time(const std::string& backend, int warmup, int repeat) {
  const auto n = rotated_.size();
  return time_on_stream(
      stream_.get(),
      [&](int i) { call_backend(rotated_[static_cast<std::size_t>(i) % n], backend); }, warmup,
      repeat);
}

support::Output DeviceSession::output(const std::string& backend) {
  device_.poison_outputs();
  call_backend(device_.params(), backend);
  return device_.download();
}

std::optional<support::Output> run_on_device(const support::HostProblem& host,
                                             const std::string& backend) {
  const GpuStream stream;
  support::DeviceProblem device(host, 0, stream.get());
  const Params& p = device.params();
  if ((backend.empty() ? explain(p) : explain(p, backend)).chosen.empty()) return std::nullopt;
  device.poison_outputs();
  call_backend(device.params(), backend);
  return device.download();
}

}  // namespace attend::cli
