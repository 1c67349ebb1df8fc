#include "device_flag.hpp"

#include "attend/error.hpp"
#include "core/cuda_devices.hpp"
#include "support/device_problem.hpp"

namespace attend::cli {

void add_device_flag(CLI::App& app, std::string& value) {
  value = "auto";
  app.add_option("--device", value,
                 "where the tensors live: cpu, cuda, or auto (cuda when a CUDA device is "
                 "present, otherwise cpu)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
}

RunDevice resolve_device(const std::string& value) {
  if (value == "cpu") return RunDevice::cpu;
  const bool present = support::cuda_device_present();
  if (value == "cuda" && !present) {
    throw Error(Code::unavailable, "attend: --device cuda: " + core::cuda_devices().reason);
  }
  return present ? RunDevice::cuda : RunDevice::cpu;
}

const char* device_name(RunDevice d) {
  return d == RunDevice::cuda ? "cuda" : "cpu";
}

}  // namespace attend::cli
