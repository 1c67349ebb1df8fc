// Checks that cost a pass over tensor data, run only when enabled (ATTEND_CHECKS=1).
#pragma once

#include "attend/problem.hpp"

namespace attend::core {

// Throws attend::Error(Code::data) for NaN/Inf in q/k/v (host tensors); reports fully masked
// query rows (which are legal: output 0, LSE -inf) on stderr.
void run_data_checks(const Problem& problem);

}  // namespace attend::core
