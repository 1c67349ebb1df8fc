// Entry point of the `efficient` backend's kernels, callable from plain C++.
#pragma once

#include "attend/problem.hpp"

namespace attend::efficient {

// fp16/bf16 run on flash's tensor-core kernel with the masks added to the scores; fp32 on this
// backend's own fp32 kernel (simt_kernel.cu).
void run(const Problem& problem);

// The fp32 kernel (simt_kernel.cu); the problem's device is current.
void run_f32(const Problem& problem);

}  // namespace attend::efficient
