// A FlexSpec's callables applied to one tile of scores, between S = Q K^T and the softmax. The
// kernels leave flex scores in natural units (scale * q.k) so that score_fn sees exactly what
// the reference computes; this moves them to the log2 domain the softmax works in.
#include "backends/cpu_flash/flex_tile.hpp"

#include <cstdint>
#include <limits>

#include "backends/cpu_flash/kernel_interface.hpp"

namespace attend::cpu_flash {
namespace {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Only the pairs inside each row's band [lo, hi) are visited: the others are masked by the
// softmax anyway, and the kernels may not have computed their scores. A pair mask_fn hides
// never reaches score_fn (the result would be -inf whatever it returned).
template <bool kScore, bool kMask>
void modify(const FlexSpec& spec, const QTile& t, const std::int32_t* lo, const std::int32_t* hi,
            std::int64_t j0, int n_keys, float* s, std::int64_t ld) {
  for (int j = 0; j < n_keys; ++j) {
    const std::int64_t key = j0 + j;
    float* row = s + j * ld;
    for (int i = 0; i < t.rows; ++i) {
      if (key < lo[i] || key >= hi[i]) continue;
      const std::int64_t query = t.q0 + i;
      if constexpr (kMask) {
        if (!spec.mask_fn(t.b, t.h, query, key)) {
          row[i] = kNegInf;
          continue;
        }
      }
      float x = row[i];
      if constexpr (kScore) x = spec.score_fn(x, t.b, t.h, query, key);
      row[i] = x * kLog2e;
    }
  }
}

}  // namespace

void apply_flex_tile(const KernelArgs& a, const QTile& t, std::int64_t j0, int n_keys, float* s,
                     std::int64_t ld) noexcept {
  FlexState& flex = *a.flex;
  if (flex.failed.load(std::memory_order_relaxed)) return;  // the call fails anyway
  const FlexSpec& spec = *flex.spec;
  const auto* lo = reinterpret_cast<const std::int32_t*>(t.scratch + a.layout.lo);
  const auto* hi = reinterpret_cast<const std::int32_t*>(t.scratch + a.layout.hi);
  try {
    const bool score = spec.score_fn != nullptr, mask = spec.mask_fn != nullptr;
    if (score && mask) {
      modify<true, true>(spec, t, lo, hi, j0, n_keys, s, ld);
    } else if (score) {
      modify<true, false>(spec, t, lo, hi, j0, n_keys, s, ld);
    } else {
      modify<false, true>(spec, t, lo, hi, j0, n_keys, s, ld);
    }
  } catch (...) {
    if (!flex.failed.exchange(true)) flex.error = std::current_exception();
  }
}

}  // namespace attend::cpu_flash
