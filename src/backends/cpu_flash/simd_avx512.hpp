// SIMD primitives on AVX-512 (F/BW/DQ/VL, FMA, F16C): 16 fp32 lanes. With AVX512-BF16 enabled at
// compile time it also offers the bf16 pair dot product. Included once per ISA namespace.
#pragma once

// GCC 12 reports its own AVX-512 intrinsics (their _mm512_undefined_* operands) as "maybe
// uninitialized" once inlined; the state of this pragma at the header's lines is what counts.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstdint>
#include <cstring>

#ifndef ATTEND_CPU_FLASH_ISA
#error "define ATTEND_CPU_FLASH_ISA (the namespace of this instantiation) before including"
#endif

namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA {

struct Simd {
  static constexpr int kLanes = 16;
  using F = __m512;   // 16 floats
  using I = __m512i;  // 16 int32, or 16 bf16 pairs

  static F zero() noexcept { return _mm512_setzero_ps(); }
  static F set1(float x) noexcept { return _mm512_set1_ps(x); }
  static F load(const float* p) noexcept { return _mm512_load_ps(p); }
  static void store(float* p, F v) noexcept { _mm512_store_ps(p, v); }
  static F add(F a, F b) noexcept { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) noexcept { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) noexcept { return _mm512_mul_ps(a, b); }
  static F fma(F a, F b, F c) noexcept { return _mm512_fmadd_ps(a, b, c); }  // a*b + c
  // On NaN vmaxps returns its second operand: callers put the value that must propagate there.
  static F max(F a, F b) noexcept { return _mm512_max_ps(a, b); }
  static F neg_inf() noexcept { return _mm512_set1_ps(-__builtin_inff()); }

  // s where lo <= j < hi (per lane), -inf elsewhere.
  static F keep_band(F s, const std::int32_t* lo, const std::int32_t* hi, std::int32_t j) noexcept {
    const I jv = _mm512_set1_epi32(j);
    const __mmask16 in = _mm512_cmple_epi32_mask(_mm512_load_si512(lo), jv) &
                         _mm512_cmplt_epi32_mask(jv, _mm512_load_si512(hi));
    return _mm512_mask_blend_ps(in, neg_inf(), s);
  }
  // x where w is not 0 (NaN counts as not 0), 0 elsewhere.
  static F where_nonzero(F w, F x) noexcept {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(w, zero(), _CMP_NEQ_UQ), x);
  }
  // m, or 0 where m is -inf: the reference point of exp2 for rows without a finite score.
  static F finite_or_zero(F m) noexcept {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(m, neg_inf(), _CMP_EQ_OQ), m, zero());
  }

  // 2^x with ~1 ulp error; exactly 0 below -125 (so -inf gives 0, and no denormals); NaN stays.
  static F exp2(F x) noexcept {
    const F n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const F f = _mm512_sub_ps(x, n);  // in [-0.5, 0.5]
    F p = _mm512_set1_ps(1.5252733804e-05f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.5403530393e-04f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291076e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504108665e-02f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022650696e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718056e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    const F r = _mm512_scalef_ps(p, n);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-125.0f), _CMP_LT_OQ), r,
                                zero());
  }

  // tanh(x): an odd series near 0 (no cancellation), (1 - e)/(1 + e) with e = exp(-2|x|) beyond.
  static F tanh(F x) noexcept {
    const F ax = _mm512_abs_ps(x);
    const F e = exp2(_mm512_mul_ps(ax, _mm512_set1_ps(-2.8853900818f)));  // -2*log2(e)
    const F far = _mm512_div_ps(_mm512_sub_ps(set1(1.0f), e), _mm512_add_ps(set1(1.0f), e));
    const F x2 = _mm512_mul_ps(x, x);
    F p = _mm512_set1_ps(2.1869488536e-02f);                         // 62/2835
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-5.3968253968e-02f));  // -17/315
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(1.3333333333e-01f));   // 2/15
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-3.3333333333e-01f));  // -1/3
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(1.0f));
    const F near = _mm512_mul_ps(p, x);
    // Give `far` the sign of x; a NaN x fails the compare and keeps `far` (NaN).
    const F far_signed = _mm512_or_ps(far, _mm512_and_ps(x, _mm512_set1_ps(-0.0f)));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.25f), _CMP_LT_OQ),
                                far_signed, near);
  }

  // Row conversions to fp32 for packing: n contiguous elements.
  static void f32_row(const float* src, float* dst, std::int64_t n) noexcept {
    std::int64_t d = 0;
    for (; d + kLanes <= n; d += kLanes) _mm512_storeu_ps(dst + d, _mm512_loadu_ps(src + d));
    if (d < n) {
      const __mmask16 k = static_cast<__mmask16>((1u << (n - d)) - 1u);
      _mm512_mask_storeu_ps(dst + d, k, _mm512_maskz_loadu_ps(k, src + d));
    }
  }
  static void bf16_row(const std::uint16_t* src, float* dst, std::int64_t n) noexcept {
    std::int64_t d = 0;
    for (; d + kLanes <= n; d += kLanes) {
      const I w =
          _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + d)));
      _mm512_storeu_ps(dst + d, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
    if (d < n) {
      const __mmask16 k = static_cast<__mmask16>((1u << (n - d)) - 1u);
      const I w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, src + d));
      _mm512_mask_storeu_ps(dst + d, k, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
  }
  static void f16_row(const std::uint16_t* src, float* dst, std::int64_t n) noexcept {
    std::int64_t d = 0;
    for (; d + kLanes <= n; d += kLanes) {
      _mm512_storeu_ps(
          dst + d, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + d))));
    }
    if (d < n) {
      const __mmask16 k = static_cast<__mmask16>((1u << (n - d)) - 1u);
      _mm512_mask_storeu_ps(dst + d, k, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, src + d)));
    }
  }
  static float bf16_scalar(std::uint16_t h) noexcept {
    return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(static_cast<int>(h) << 16)));
  }
  static float f16_scalar(std::uint16_t h) noexcept { return _cvtsh_ss(h); }

  // Two rows of bf16 interleaved into pairs: out[c] = a[c] | b[c] << 16 (b may be null: zeros).
  static void interleave_bf16_rows(const std::uint16_t* a, const std::uint16_t* b,
                                   std::uint32_t* out, std::int64_t n) noexcept {
    std::int64_t c = 0;
    for (; c + kLanes <= n; c += kLanes) {
      const I lo =
          _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + c)));
      const I hi =
          b ? _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + c)))
            : _mm512_setzero_si512();
      _mm512_storeu_si512(out + c, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
    }
    for (; c < n; ++c) out[c] = a[c] | (b ? static_cast<std::uint32_t>(b[c]) << 16 : 0u);
  }

#ifdef __AVX512BF16__
  static constexpr bool kBf16Dot = true;
  // acc[k] += a.lo[k]*b.lo[k] + a.hi[k]*b.hi[k] over bf16 pairs, in fp32.
  static F dot_pairs(F acc, I a, I b) noexcept {
    return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(a), reinterpret_cast<__m512bh>(b));
  }
  static I load_pairs(const std::uint32_t* p) noexcept {
    return _mm512_load_si512(p);
  }
  static I broadcast_pair(const std::uint32_t* p) noexcept {
    std::uint32_t bits;
    std::memcpy(&bits, p, sizeof bits);
    return _mm512_set1_epi32(static_cast<int>(bits));
  }
  // (p0[k], p1[k]) rounded to bf16 and interleaved as lane k's pair.
  static I pack_pairs(F p0, F p1) noexcept {
    const I idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23,
                                   7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const I both = reinterpret_cast<I>(_mm512_cvtne2ps_pbh(p1, p0));  // words 0-15 p0, 16-31 p1
    return _mm512_permutexvar_epi16(idx, both);
  }
  static void store_pairs(std::uint32_t* p, I v) noexcept {
    _mm512_store_si512(p, v);
  }
#else
  static constexpr bool kBf16Dot = false;
#endif
};

}  // namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA
