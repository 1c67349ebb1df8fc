// The limits of flash3's kernel, checked by every backend that runs it (flash3, flash3_varlen,
// flex): 32-bit sizes and tile counts, TMA's strides, no dropout.
#pragma once

#include "attend/backend.hpp"
#include "attend/problem.hpp"

namespace attend::backends {

void check_flash3_limits(const Problem& p, ReasonSink& sink);

}  // namespace attend::backends
