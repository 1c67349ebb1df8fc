// How cuda_math cuts a problem into chunks whose fp32 buffers fit a bounded workspace. A unit is
// one (batch, KV head) pair: its K and V rows, and the query rows of the query heads sharing that
// KV head, which stack into one matrix so that GQA needs no copy of K or V. A chunk is a run of
// units and a run of query rows; the whole problem is one chunk when it fits the budget. Plain
// C++: the unit tests check it without a GPU.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace attend::cuda_math {

struct Shape {
  std::int64_t units = 0;  // B * Hkv
  std::int64_t group = 1;  // query heads per KV head
  std::int64_t Sq = 0, Sk = 0, D = 0, Dv = 0;
};

// fp32 elements of all chunk buffers together: 2^28 floats, 1 GiB. The scores (rows x Sk per
// unit) dominate, so this is also the bound on scores held at once.
inline constexpr std::int64_t kBudgetFloats = std::int64_t{1} << 28;

// Buffers of one chunk, in this order in the workspace, each 256-byte aligned:
//   K [unit][Sk][D], V [unit][Sk][Dv], Q [unit][group*rows][D], S [unit][group*rows][Sk],
//   O [unit][group*rows][Dv], then the cuBLAS workspace.
struct Plan {
  std::int64_t units = 0;  // units per chunk
  std::int64_t rows = 0;   // query rows per chunk (of each query head)
  std::size_t k_offset = 0, v_offset = 0, q_offset = 0, s_offset = 0, o_offset = 0;
  std::size_t cublas_offset = 0;
  std::size_t bytes = 0;  // workspace total, cuBLAS's share included
};

constexpr std::size_t aligned_floats(std::int64_t elements) {
  return (static_cast<std::size_t>(elements) * sizeof(float) + 255) / 256 * 256;
}

// Pieces of `total` of at most `at_most` each, evened out: 32760 rows at most 7875 at a time
// become 5 pieces of 6552, not 4 of 7875 and one of 1260.
constexpr std::int64_t even_piece(std::int64_t total, std::int64_t at_most) {
  if (total <= 0) return 1;
  at_most = std::clamp<std::int64_t>(at_most, 1, total);
  const std::int64_t pieces = (total + at_most - 1) / at_most;
  return (total + pieces - 1) / pieces;
}

constexpr Plan make_plan(const Shape& s, std::int64_t budget = kBudgetFloats,
                         std::size_t cublas_bytes = std::size_t{32} << 20) {
  // Sizes in double for the comparisons: the products can pass int64 for absurd shapes.
  const double kv = static_cast<double>(s.Sk) * static_cast<double>(s.D + s.Dv);
  const double per_row = static_cast<double>(s.group) * static_cast<double>(s.D + s.Sk + s.Dv);
  const double per_unit = kv + static_cast<double>(s.Sq) * per_row;
  const double room = static_cast<double>(budget);
  Plan p;
  if (per_unit <= room) {  // whole units, as many as fit
    p.rows = std::max<std::int64_t>(s.Sq, 1);
    const double fit = per_unit > 0 ? room / per_unit : static_cast<double>(s.units);
    p.units = even_piece(
        s.units, fit >= static_cast<double>(s.units) ? s.units : static_cast<std::int64_t>(fit));
  } else {  // one unit, its query rows in pieces (at least one row, whatever the budget says)
    p.units = 1;
    const double fit = (room - kv) / per_row;
    p.rows = even_piece(s.Sq, fit < 1 ? 1 : static_cast<std::int64_t>(std::min(fit, 1e18)));
  }
  const std::int64_t m = s.group * p.rows;  // stacked query rows of a unit
  p.k_offset = 0;
  p.v_offset = p.k_offset + aligned_floats(p.units * s.Sk * s.D);
  p.q_offset = p.v_offset + aligned_floats(p.units * s.Sk * s.Dv);
  p.s_offset = p.q_offset + aligned_floats(p.units * m * s.D);
  p.o_offset = p.s_offset + aligned_floats(p.units * m * s.Sk);
  p.cublas_offset = p.o_offset + aligned_floats(p.units * m * s.Dv);
  p.bytes = p.cublas_offset + cublas_bytes;
  return p;
}

}  // namespace attend::cuda_math
