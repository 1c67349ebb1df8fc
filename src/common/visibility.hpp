// Which keys a query row may see: the causal/window band and per-sequence bounds, in one place
// so that every backend agrees with the reference on Sq != Sk, both alignments, and varlen.
#pragma once

#include <algorithm>
#include <cstdint>

#include "attend/problem.hpp"
#include "common/host_device.hpp"

namespace attend::common {

// One sequence of a (possibly varlen) problem: its rows in the packed or batched tensors.
struct SeqBounds {
  std::int64_t q_start = 0, q_len = 0;  // token offset into q/out (0 for batched layouts)
  std::int64_t k_start = 0, k_len = 0;  // token offset into k/v
};

// For varlen problems the cu_seqlens must be host-readable (CPU problems).
inline SeqBounds seq_bounds(const Problem& p, std::int64_t b) {
  if (!p.varlen) return {0, p.Sq, 0, p.Sk};
  const std::int32_t* cu_q = p.cu_seqlens_q;
  const std::int32_t* cu_k = p.cu_seqlens_k;
  return {cu_q[b], cu_q[b + 1] - cu_q[b], cu_k[b], cu_k[b + 1] - cu_k[b]};
}

// The band of key indices [lo, hi) that query row i of a sequence may see; empty when hi <= lo.
struct KeyRange {
  std::int64_t lo, hi;
};

ATTEND_HD KeyRange visible_keys(std::int64_t i, std::int64_t q_len, std::int64_t k_len, Align align,
                                std::int64_t left, std::int64_t right) {
  const std::int64_t pos = i + (align == Align::bottom_right ? k_len - q_len : 0);
  std::int64_t lo = left >= 0 ? pos - left : 0;
  std::int64_t hi = right >= 0 ? pos + right + 1 : k_len;
  lo = lo < 0 ? 0 : lo;
  hi = hi > k_len ? k_len : hi;
  return {lo, hi};
}

inline KeyRange visible_keys(const Problem& p, std::int64_t i, std::int64_t q_len,
                             std::int64_t k_len) {
  return visible_keys(i, q_len, k_len, p.align, p.window_left, p.window_right);
}

}  // namespace attend::common
