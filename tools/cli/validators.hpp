// CLI11 validators with messages that say what was expected and what was given.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "attend/tensor.hpp"

namespace attend::cli {

// A number >= min ("--sq: must be at least 0, got -5").
CLI::Validator at_least(double min);

// The floating dtypes attend knows: fp32, bf16, fp16, fp64 and their usual spellings.
CLI::Validator dtype_validator();
// The same rule for a value already validated; throws UsageError otherwise.
DType parse_float_dtype(const std::string& text);

}  // namespace attend::cli
