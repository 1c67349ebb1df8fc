// Facts about the machine and checkout a benchmark result is tied to.
#pragma once

#include <cstdint>
#include <string>

namespace attend::cli {

// "model name" from /proc/cpuinfo, or "unknown cpu".
std::string cpu_model_name();
// The results files' "gpu" field for a CPU run: "cpu:" followed by the CPU model name.
std::string cpu_results_tag();
// `git rev-parse --short HEAD` in the current directory, or "unknown".
std::string git_commit();
// Today's local date as YYYY-MM-DD.
std::string today();
std::uint64_t physical_memory_bytes();
unsigned hardware_threads();

}  // namespace attend::cli
