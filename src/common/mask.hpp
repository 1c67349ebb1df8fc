// The additive term a mask contributes to score (b, h, i, j): 0 or -inf for boolean masks and
// key padding, the value itself for additive masks. Indices are within the sequence.
#pragma once

#include <cstdint>
#include <limits>

#include "attend/problem.hpp"
#include "common/elements.hpp"

namespace attend::common {

inline double mask_term(const MaskRef& m, std::int64_t b, std::int64_t h, std::int64_t i,
                        std::int64_t j) {
  const std::int64_t off = b * m.sb + h * m.sh + i * m.sq + j * m.sk;
  if (m.dtype == DType::boolean) {
    return static_cast<const std::uint8_t*>(m.data)[off] ? 0.0
                                                         : -std::numeric_limits<double>::infinity();
  }
  return load_element(m.data, m.dtype, off);
}

// Both masks of a problem together (either may be absent).
inline double mask_terms(const Problem& p, std::int64_t b, std::int64_t h, std::int64_t i,
                         std::int64_t j) {
  double t = 0.0;
  if (p.key_padding.present()) t += mask_term(p.key_padding, b, h, i, j);
  if (p.mask.present()) t += mask_term(p.mask, b, h, i, j);
  return t;
}

}  // namespace attend::common
