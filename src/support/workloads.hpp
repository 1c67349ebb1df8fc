// The named workloads of DESIGN §7 (bf16, forward), shared by the CLI, the benchmark and the
// results files so that names mean the same everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attend::support {

struct Workload {
  std::string name;
  std::int64_t B, Hq, Hkv, S, D;
  bool causal;
  bool bias = false;  // an additive (B, 1, S, S) attn_mask in the inputs' dtype
};

const std::vector<Workload>& workloads();
std::optional<Workload> find_workload(std::string_view name);

}  // namespace attend::support
