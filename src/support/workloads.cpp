#include "support/workloads.hpp"

namespace attend::support {

const std::vector<Workload>& workloads() {
  static const std::vector<Workload> kAll = {
      {"flux", 1, 24, 24, 4608, 128, false},
      {"sd3", 2, 24, 24, 4250, 64, false},
      {"wan-480p", 1, 40, 40, 32760, 128, false},
      {"llm-causal", 4, 32, 32, 4096, 128, true},
      {"llm-gqa", 2, 32, 8, 8192, 128, true},
      {"hd256", 4, 16, 16, 2048, 256, false},
      {"hd64", 1, 16, 16, 16384, 64, false},
      // The mask-anything path (issue: efficient vs PyTorch's memory-efficient kernel).
      {"flux-bias", 1, 24, 24, 4608, 128, false, true},
      {"sd3-bias", 2, 24, 24, 4250, 64, false, true},
  };
  return kAll;
}

std::optional<Workload> find_workload(std::string_view name) {
  for (const Workload& w : workloads()) {
    if (w.name == name) return w;
  }
  return std::nullopt;
}

}  // namespace attend::support
