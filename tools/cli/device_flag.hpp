// `--device auto|cpu|cuda` of run, bench and check: where the problem's tensors live and so which
// backends can take it. auto is cuda when this process sees a CUDA device, otherwise cpu.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace attend::cli {

enum class RunDevice { cpu, cuda };

void add_device_flag(CLI::App& app, std::string& value);

// Resolves the flag. `cuda` without a usable device throws attend::Error (Code::unavailable),
// which exits with 1 and CUDA's reason.
RunDevice resolve_device(const std::string& value);

const char* device_name(RunDevice d);

}  // namespace attend::cli
