// SIMD primitives on AVX2 + FMA + F16C: 8 fp32 lanes. Included once per ISA namespace.
#pragma once

#include <immintrin.h>

#include <cstdint>

#ifndef ATTEND_CPU_FLASH_ISA
#error "define ATTEND_CPU_FLASH_ISA (the namespace of this instantiation) before including"
#endif

namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA {

struct Simd {
  static constexpr int kLanes = 8;
  static constexpr bool kBf16Dot = false;
  using F = __m256;
  using I = __m256i;

  static F zero() noexcept { return _mm256_setzero_ps(); }
  static F set1(float x) noexcept { return _mm256_set1_ps(x); }
  static F load(const float* p) noexcept { return _mm256_load_ps(p); }
  static void store(float* p, F v) noexcept { _mm256_store_ps(p, v); }
  static F add(F a, F b) noexcept { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) noexcept { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) noexcept { return _mm256_mul_ps(a, b); }
  static F fma(F a, F b, F c) noexcept { return _mm256_fmadd_ps(a, b, c); }  // a*b + c
  // On NaN vmaxps returns its second operand: callers put the value that must propagate there.
  static F max(F a, F b) noexcept { return _mm256_max_ps(a, b); }
  static F neg_inf() noexcept { return _mm256_set1_ps(-__builtin_inff()); }

  // s where lo <= j < hi (per lane), -inf elsewhere.
  static F keep_band(F s, const std::int32_t* lo, const std::int32_t* hi, std::int32_t j) noexcept {
    const I jv = _mm256_set1_epi32(j);
    const I lo_v = _mm256_load_si256(reinterpret_cast<const I*>(lo));
    const I hi_v = _mm256_load_si256(reinterpret_cast<const I*>(hi));
    const I out = _mm256_or_si256(_mm256_cmpgt_epi32(lo_v, jv),  // lo > j
                                  _mm256_xor_si256(_mm256_cmpgt_epi32(hi_v, jv),
                                                   _mm256_set1_epi32(-1)));  // hi <= j
    return _mm256_blendv_ps(s, neg_inf(), _mm256_castsi256_ps(out));
  }
  // x where w is not 0 (NaN counts as not 0), 0 elsewhere.
  static F where_nonzero(F w, F x) noexcept {
    return _mm256_and_ps(_mm256_cmp_ps(w, zero(), _CMP_NEQ_UQ), x);
  }
  // m, or 0 where m is -inf: the reference point of exp2 for rows without a finite score.
  static F finite_or_zero(F m) noexcept {
    return _mm256_blendv_ps(m, zero(), _mm256_cmp_ps(m, neg_inf(), _CMP_EQ_OQ));
  }

  // 2^x with ~1 ulp error; exactly 0 below -125 (so -inf gives 0, and no denormals); NaN stays.
  static F exp2(F x) noexcept {
    const F small = _mm256_cmp_ps(x, _mm256_set1_ps(-125.0f), _CMP_LT_OQ);
    // Clamp into [-125, 125] so the exponent arithmetic stays in range; max/min keep a NaN x.
    const F xc = _mm256_min_ps(_mm256_set1_ps(125.0f), _mm256_max_ps(_mm256_set1_ps(-125.0f), x));
    const F n = _mm256_round_ps(xc, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const F f = _mm256_sub_ps(xc, n);
    F p = _mm256_set1_ps(1.5252733804e-05f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.5403530393e-04f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.3333558146e-03f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.6181291076e-03f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.5504108665e-02f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022650696e-01f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.9314718056e-01f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    const I bits =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    const F r = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    return _mm256_andnot_ps(small, r);
  }

  // tanh(x): an odd series near 0 (no cancellation), (1 - e)/(1 + e) with e = exp(-2|x|) beyond.
  static F tanh(F x) noexcept {
    const F sign = _mm256_set1_ps(-0.0f);
    const F ax = _mm256_andnot_ps(sign, x);
    const F e = exp2(_mm256_mul_ps(ax, _mm256_set1_ps(-2.8853900818f)));  // -2*log2(e)
    const F far = _mm256_div_ps(_mm256_sub_ps(set1(1.0f), e), _mm256_add_ps(set1(1.0f), e));
    const F x2 = _mm256_mul_ps(x, x);
    F p = _mm256_set1_ps(2.1869488536e-02f);                         // 62/2835
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.3968253968e-02f));  // -17/315
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(1.3333333333e-01f));   // 2/15
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-3.3333333333e-01f));  // -1/3
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(1.0f));
    const F near = _mm256_mul_ps(p, x);
    const F far_signed = _mm256_or_ps(far, _mm256_and_ps(x, sign));
    return _mm256_blendv_ps(far_signed, near, _mm256_cmp_ps(ax, _mm256_set1_ps(0.25f), _CMP_LT_OQ));
  }

  // Row conversions to fp32 for packing: n contiguous elements.
  static void f32_row(const float* src, float* dst, std::int64_t n) noexcept {
    std::int64_t d = 0;
    for (; d + kLanes <= n; d += kLanes) _mm256_storeu_ps(dst + d, _mm256_loadu_ps(src + d));
    for (; d < n; ++d) dst[d] = src[d];
  }
  static void bf16_row(const std::uint16_t* src, float* dst, std::int64_t n) noexcept {
    std::int64_t d = 0;
    for (; d + kLanes <= n; d += kLanes) {
      const I w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + d)));
      _mm256_storeu_ps(dst + d, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
    for (; d < n; ++d) dst[d] = bf16_scalar(src[d]);
  }
  static void f16_row(const std::uint16_t* src, float* dst, std::int64_t n) noexcept {
    std::int64_t d = 0;
    for (; d + kLanes <= n; d += kLanes) {
      _mm256_storeu_ps(dst + d,
                       _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + d))));
    }
    for (; d < n; ++d) dst[d] = f16_scalar(src[d]);
  }
  static float bf16_scalar(std::uint16_t h) noexcept {
    return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(static_cast<int>(h) << 16)));
  }
  static float f16_scalar(std::uint16_t h) noexcept { return _cvtsh_ss(h); }
};

}  // namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA
