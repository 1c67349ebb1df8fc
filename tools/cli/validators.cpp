#include "validators.hpp"

#include <fmt/format.h>

#include "usage_error.hpp"

namespace attend::cli {

CLI::Validator at_least(double min) {
  return CLI::Validator(
      [min](std::string& text) -> std::string {
        double value = 0.0;
        if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a number";
        if (value < min) return fmt::format("must be at least {}, got {}", min, text);
        return {};
      },
      fmt::format(">= {}", min));
}

DType parse_float_dtype(const std::string& text) {
  DType t{};
  if (!parse_dtype(text, t) || !is_floating(t)) {
    throw UsageError("dtype '" + text + "' is not one of fp32, bf16, fp16, fp64");
  }
  return t;
}

CLI::Validator dtype_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        DType t{};
        if (parse_dtype(text, t) && is_floating(t)) return {};
        return "'" + text + "' is not one of fp32, bf16, fp16, fp64";
      },
      "fp32|bf16|fp16|fp64");
}

}  // namespace attend::cli
