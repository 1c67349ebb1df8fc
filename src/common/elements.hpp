// Reading and writing one element of any floating dtype as float/double, for reference loops,
// packing steps and tests. Hot kernels convert whole tiles instead.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "attend/tensor.hpp"
#include "common/half.hpp"

namespace attend::common {

inline double load_element(const void* base, DType t, std::int64_t offset) {
  switch (t) {
    case DType::f32:
      return static_cast<const float*>(base)[offset];
    case DType::f64:
      return static_cast<const double*>(base)[offset];
    case DType::bf16:
      return bf16_to_float(static_cast<const std::uint16_t*>(base)[offset]);
    case DType::f16:
      return fp16_to_float(static_cast<const std::uint16_t*>(base)[offset]);
    case DType::boolean:
      return static_cast<const std::uint8_t*>(base)[offset] != 0 ? 1.0 : 0.0;
    case DType::i32:
      return static_cast<const std::int32_t*>(base)[offset];
    case DType::i64:
      return static_cast<double>(static_cast<const std::int64_t*>(base)[offset]);
  }
  return 0.0;
}

// double -> integer without undefined behaviour: NaN becomes 0, out-of-range values clamp.
template <class Int>
Int saturate(double value) {
  if (std::isnan(value)) return 0;
  if (value <= static_cast<double>(std::numeric_limits<Int>::min()))
    return std::numeric_limits<Int>::min();
  if (value >= static_cast<double>(std::numeric_limits<Int>::max()))
    return std::numeric_limits<Int>::max();
  return static_cast<Int>(value);
}

inline void store_element(void* base, DType t, std::int64_t offset, double value) {
  switch (t) {
    case DType::f32:
      static_cast<float*>(base)[offset] = static_cast<float>(value);
      break;
    case DType::f64:
      static_cast<double*>(base)[offset] = value;
      break;
    case DType::bf16:
      static_cast<std::uint16_t*>(base)[offset] = float_to_bf16(static_cast<float>(value));
      break;
    case DType::f16:
      static_cast<std::uint16_t*>(base)[offset] = float_to_fp16(static_cast<float>(value));
      break;
    case DType::boolean:
      static_cast<std::uint8_t*>(base)[offset] = value != 0.0;
      break;
    case DType::i32:
      static_cast<std::int32_t*>(base)[offset] = saturate<std::int32_t>(value);
      break;
    case DType::i64:
      static_cast<std::int64_t*>(base)[offset] = saturate<std::int64_t>(value);
      break;
  }
}

}  // namespace attend::common
