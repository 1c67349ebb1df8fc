// Entry points of the flash kernels (launch.cu), callable from plain C++: the backends'
// registration compiles in every build, the launches only where CUDA is built.
#pragma once

#include <cstdint>
#include <span>

#include "attend/problem.hpp"

namespace attend::flash {

// Calls f.template operator()<kD>() for the kD of kDims equal to d; false when none is. Turns a
// run-time head dim into the instantiation that serves it.
template <int... kDims>
struct HeadDims {
  template <class F>
  static bool visit(int d, F&& f) {
    return ((d == kDims ? (f.template operator()<kDims>(), true) : false) || ...);
  }
};

// Head dims with a compiled kernel, ascending. A build can trim them (ATTEND_FLASH_HEAD_DIMS).
std::span<const int> compiled_head_dims();

// The instantiation a head dim runs on: the smallest compiled one >= D, or 0 when none is.
int kernel_head_dim(std::int64_t D);

// Runs a problem that passed the backend's checks. Dense (BSHD/BHSD), packed varlen (THD), or
// dense with a key-padding mask, which is turned into per-sequence key lists on the device.
void run(const Problem& problem);

// Runs a dense problem with attn_mask and/or key padding added to the scores in the kernel
// (the `efficient` backend's half-precision path): any mask dtype, broadcast and stride.
void run_masked(const Problem& problem);

}  // namespace attend::flash
