// Entry points of the flash3 kernels (launch.cu), callable from plain C++: the registration
// compiles in every build, the launches only where CUDA is built.
#pragma once

#include <cstdint>

#include "attend/problem.hpp"
#include "backends/flash3/params.hpp"

namespace attend::flash3 {

// The instantiation a head dim runs on (64, 128 or 256; smaller dims zero-padded), or 0.
constexpr int kernel_head_dim(std::int64_t D) {
  return D <= 0 ? 0 : D <= 64 ? 64 : D <= 128 ? 128 : D <= 256 ? 256 : 0;
}

// Runs a problem that passed the backend's checks on an sm_90 device.
void run(const Problem& problem);

// The SMs of pr's device (an H100's or H200's 132 where the device is unknown).
int sm_count_of(const Problem& pr);

// The persistent schedule of pr: sets p.m_blocks and p.tiles (bounded by the backends' checks)
// and returns the grid, one block per SM, at most one per tile.
int schedule_grid(const Problem& pr, Flash3Params& p);

}  // namespace attend::flash3
