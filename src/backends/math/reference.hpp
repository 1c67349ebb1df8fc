// The reference attention: plain loops, fp64 accumulation, every feature of Params.
#pragma once

#include "attend/problem.hpp"

namespace attend::math {

void run_reference(const Problem& problem);

}  // namespace attend::math
