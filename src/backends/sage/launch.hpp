// Entry point of the sage kernels (launch.cu), callable from plain C++: the registration builds
// everywhere, the launch only where CUDA is built.
#pragma once

#include <cstdint>

#include "attend/problem.hpp"

namespace attend::sage {

// The head dim a problem's int8 rows are padded to (64 or 128), or 0 past 128.
constexpr int kernel_head_dim(std::int64_t D) {
  return D <= 64 ? 64 : D <= 128 ? 128 : 0;
}

// Quantizes Q, K (and V for bf16) into a workspace and runs the int8 kernel. Dense, packed
// (THD with cu_seqlens) or dense with a key-padding mask, packed on the device first.
void run(const Problem& problem);

// sage_fp8 on an sm_90 device: int8 Q and K, V's fp8 copy, one wgmma kernel of head dim 128
// (smaller ones zero-padded). Dense BSHD/BHSD problems.
void run_fp8(const Problem& problem);

}  // namespace attend::sage
