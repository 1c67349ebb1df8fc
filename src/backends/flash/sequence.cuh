// Where sequence b's queries and keys lie in the (packed or dense) tensors: the one reading of
// cu_seqlens that the flash, sage and flash3 kernels share.
#pragma once

#include "backends/flash/params.hpp"

namespace attend::flash {

struct Sequence {
  int q_start, q_len, k_start, k_len;
};

__device__ __forceinline__ Sequence sequence_of(const FlashParams& p, int b) {
  Sequence s{0, p.Sq, 0, p.Sk};
  if (p.cu_q != nullptr) {
    s.q_start = p.cu_q[b];
    s.q_len = p.cu_q[b + 1] - s.q_start;
  }
  if (p.cu_k != nullptr) {
    s.k_start = p.cu_k[b];
    s.k_len = p.cu_k[b + 1] - s.k_start;
  }
  return s;
}

}  // namespace attend::flash
