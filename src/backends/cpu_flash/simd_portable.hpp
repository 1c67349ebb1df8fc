// SIMD primitives in portable C++: 8 fp32 lanes as plain arrays, written so that the compiler can
// vectorise them for whatever baseline the build targets. Included once per ISA namespace.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/half.hpp"

#ifndef ATTEND_CPU_FLASH_ISA
#error "define ATTEND_CPU_FLASH_ISA (the namespace of this instantiation) before including"
#endif

namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA {

struct Simd {
  static constexpr int kLanes = 8;
  static constexpr bool kBf16Dot = false;
  struct F {
    float v[kLanes];
  };

  template <class Op>
  static F map(F a, Op op) noexcept {
    F r;
    for (int k = 0; k < kLanes; ++k) r.v[k] = op(a.v[k]);
    return r;
  }
  template <class Op>
  static F zip(F a, F b, Op op) noexcept {
    F r;
    for (int k = 0; k < kLanes; ++k) r.v[k] = op(a.v[k], b.v[k]);
    return r;
  }

  static F zero() noexcept { return set1(0.0f); }
  static F set1(float x) noexcept {
    F r;
    for (float& e : r.v) e = x;
    return r;
  }
  static F load(const float* p) noexcept {
    F r;
    std::memcpy(r.v, p, sizeof r.v);
    return r;
  }
  static void store(float* p, F v) noexcept { std::memcpy(p, v.v, sizeof v.v); }
  static F add(F a, F b) noexcept {
    return zip(a, b, [](float x, float y) { return x + y; });
  }
  static F sub(F a, F b) noexcept {
    return zip(a, b, [](float x, float y) { return x - y; });
  }
  static F mul(F a, F b) noexcept {
    return zip(a, b, [](float x, float y) { return x * y; });
  }
  static F fma(F a, F b, F c) noexcept {
    F r;
    for (int k = 0; k < kLanes; ++k) r.v[k] = a.v[k] * b.v[k] + c.v[k];
    return r;
  }
  // Like vmaxps: a NaN in either operand yields the second operand.
  static F max(F a, F b) noexcept {
    return zip(a, b, [](float x, float y) { return x > y ? x : y; });
  }
  static F neg_inf() noexcept { return set1(-INFINITY); }

  // s where lo <= j < hi (per lane), -inf elsewhere.
  static F keep_band(F s, const std::int32_t* lo, const std::int32_t* hi, std::int32_t j) noexcept {
    for (int k = 0; k < kLanes; ++k) {
      if (j < lo[k] || j >= hi[k]) s.v[k] = -INFINITY;
    }
    return s;
  }
  // x where w is not 0 (NaN counts as not 0), 0 elsewhere.
  static F where_nonzero(F w, F x) noexcept {
    return zip(w, x, [](float a, float b) { return a != 0.0f ? b : 0.0f; });
  }
  // m, or 0 where m is -inf: the reference point of exp2 for rows without a finite score.
  static F finite_or_zero(F m) noexcept {
    return map(m, [](float x) { return x == -INFINITY ? 0.0f : x; });
  }

  static float exp2_scalar(float x) noexcept {
    if (x != x) return x;
    if (x < -125.0f) return 0.0f;
    if (x > 125.0f) x = 125.0f;
    const float n = std::nearbyint(x);
    const float f = x - n;
    float p = 1.5252733804e-05f;
    p = p * f + 1.5403530393e-04f;
    p = p * f + 1.3333558146e-03f;
    p = p * f + 9.6181291076e-03f;
    p = p * f + 5.5504108665e-02f;
    p = p * f + 2.4022650696e-01f;
    p = p * f + 6.9314718056e-01f;
    p = p * f + 1.0f;
    const std::uint32_t bits = static_cast<std::uint32_t>(static_cast<int>(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
  }
  // 2^x; exactly 0 below -125 (so -inf gives 0); NaN stays.
  static F exp2(F x) noexcept { return map(x, exp2_scalar); }
  static F tanh(F x) noexcept {
    return map(x, [](float t) { return std::tanh(t); });
  }

  // Row conversions to fp32 for packing: n contiguous elements.
  static void f32_row(const float* src, float* dst, std::int64_t n) noexcept {
    std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
  }
  static void bf16_row(const std::uint16_t* src, float* dst, std::int64_t n) noexcept {
    for (std::int64_t d = 0; d < n; ++d) dst[d] = common::bf16_to_float(src[d]);
  }
  static void f16_row(const std::uint16_t* src, float* dst, std::int64_t n) noexcept {
    for (std::int64_t d = 0; d < n; ++d) dst[d] = common::fp16_to_float(src[d]);
  }
  static float bf16_scalar(std::uint16_t h) noexcept { return common::bf16_to_float(h); }
  static float f16_scalar(std::uint16_t h) noexcept { return common::fp16_to_float(h); }
};

}  // namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA
