// The visibility band of one sequence in the kernels' int types: causal (either alignment) and
// sliding windows as one [lo, hi) key interval per query row. Shared by flash and flash3.
#pragma once

namespace attend::flash {

// Keys visible from query row i of one sequence: [lo(i), hi(i)); the same band as
// common::visible_keys, in the kernel's int types.
struct Band {
  long long offset;  // aligned key position of query row 0
  int left, right;   // -1: unbounded
  int k_len;
  __device__ __forceinline__ int lo(int i) const {
    if (left < 0) return 0;
    const long long v = i + offset - left;
    return v < 0 ? 0 : (v > k_len ? k_len : static_cast<int>(v));
  }
  __device__ __forceinline__ int hi(int i) const {
    if (right < 0) return k_len;
    const long long v = i + offset + right + 1;
    return v < 0 ? 0 : (v > k_len ? k_len : static_cast<int>(v));
  }
};

}  // namespace attend::flash
