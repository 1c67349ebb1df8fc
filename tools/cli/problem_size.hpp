// The host memory a problem's buffers will take, known before any buffer exists.
#pragma once

#include "support/host_problem.hpp"

namespace attend::cli {

// Bytes of q, k and v alone (what a timed GPU run rotates through).
double input_bytes(const support::ProblemSpec& spec);
// Bytes of every host buffer a run needs: inputs, masks, out and the reference's out.
double host_bytes(const support::ProblemSpec& spec);

// Throws std::runtime_error when the buffers would not fit in this machine's memory, instead of
// letting the allocation take the machine down.
void require_host_memory(const support::ProblemSpec& spec);

}  // namespace attend::cli
