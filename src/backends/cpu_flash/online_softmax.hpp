// The softmax side of a kv tile, in the log2 domain and the transposed layout S[j][i]: each
// lane is one query, so the running max and sum are vertical vector operations.
#pragma once

#include <cstdint>

#ifndef ATTEND_CPU_FLASH_ISA
#error "include a simd_*.hpp first"
#endif

namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA {

// s = softcap*log2(e) * tanh(s), where s holds scale * q.k / softcap.
inline void softcap_tile(float* s, std::int64_t lds, int n_keys, int n_vecs,
                         float softcap_log2) noexcept {
  const Simd::F c = Simd::set1(softcap_log2);
  for (int j = 0; j < n_keys; ++j) {
    for (int v = 0; v < n_vecs; ++v) {
      float* x = s + j * lds + v * Simd::kLanes;
      Simd::store(x, Simd::mul(c, Simd::tanh(Simd::load(x))));
    }
  }
}

// One online-softmax step. With kBand, scores of keys outside each query's [lo, hi) become
// -inf first. Then per query: m' = max(m, max_j s), alpha = 2^(m - m'), P = 2^(s - m') in
// place of S, l' = alpha*l + sum_j P. A query with no finite score yet keeps m = -inf and
// uses 0 as the reference, so its weights are exactly 0 and nothing becomes NaN.
template <bool kBand>
void softmax_tile(float* s, std::int64_t lds, int n_keys, int n_vecs, std::int64_t j0,
                  const std::int32_t* lo, const std::int32_t* hi, float* m, float* l,
                  float* alpha) noexcept {
  for (int v = 0; v < n_vecs; ++v) {
    const std::int64_t col = v * Simd::kLanes;
    const Simd::F m_old = Simd::load(m + col);
    Simd::F mx0 = m_old, mx1 = Simd::neg_inf();  // two chains: max has latency
    int j = 0;
    for (; j + 1 < n_keys; j += 2) {
      float* x0 = s + j * lds + col;
      float* x1 = x0 + lds;
      Simd::F a = Simd::load(x0), b = Simd::load(x1);
      if constexpr (kBand) {
        a = Simd::keep_band(a, lo + col, hi + col, static_cast<std::int32_t>(j0 + j));
        b = Simd::keep_band(b, lo + col, hi + col, static_cast<std::int32_t>(j0 + j + 1));
        Simd::store(x0, a);
        Simd::store(x1, b);
      }
      mx0 = Simd::max(mx0, a);
      mx1 = Simd::max(mx1, b);
    }
    if (j < n_keys) {
      float* x = s + j * lds + col;
      Simd::F a = Simd::load(x);
      if constexpr (kBand) {
        a = Simd::keep_band(a, lo + col, hi + col, static_cast<std::int32_t>(j0 + j));
        Simd::store(x, a);
      }
      mx0 = Simd::max(mx0, a);
    }
    const Simd::F m_new = Simd::max(mx0, mx1);
    const Simd::F ref = Simd::finite_or_zero(m_new);
    const Simd::F a = Simd::exp2(Simd::sub(m_old, ref));
    Simd::F sum0 = Simd::zero(), sum1 = Simd::zero();
    j = 0;
    for (; j + 1 < n_keys; j += 2) {
      float* x0 = s + j * lds + col;
      float* x1 = x0 + lds;
      const Simd::F p0 = Simd::exp2(Simd::sub(Simd::load(x0), ref));
      const Simd::F p1 = Simd::exp2(Simd::sub(Simd::load(x1), ref));
      Simd::store(x0, p0);
      Simd::store(x1, p1);
      sum0 = Simd::add(sum0, p0);
      sum1 = Simd::add(sum1, p1);
    }
    if (j < n_keys) {
      float* x = s + j * lds + col;
      const Simd::F p = Simd::exp2(Simd::sub(Simd::load(x), ref));
      Simd::store(x, p);
      sum0 = Simd::add(sum0, p);
    }
    Simd::store(l + col, Simd::fma(Simd::load(l + col), a, Simd::add(sum0, sum1)));
    Simd::store(m + col, m_new);
    Simd::store(alpha + col, a);
  }
}

}  // namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA
