// Params -> Problem: the always-on structural checks (O(1) in the tensor sizes; O(B) for host
// cu_seqlens) and the lowering of layouts and masks to canonical strides.
#pragma once

#include "attend/params.hpp"
#include "attend/problem.hpp"

namespace attend::core {

// Throws attend::Error with a precise code and message for input no backend could run.
Problem resolve(const Params& params);

}  // namespace attend::core
