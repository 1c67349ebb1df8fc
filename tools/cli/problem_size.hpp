// The host memory a problem's buffers will take, known before any buffer exists.
#pragma once

#include "support/host_problem.hpp"

namespace attend::cli {

double host_bytes(const support::ProblemSpec& spec);

// Throws std::runtime_error when the buffers would not fit in this machine's memory, instead of
// letting the allocation take the machine down.
void require_host_memory(const support::ProblemSpec& spec);

}  // namespace attend::cli
