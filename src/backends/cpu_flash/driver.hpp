// Entry point of the cpu_flash kernels: picks the ISA kernel, splits the problem into q tiles,
// and runs them on OpenMP threads.
#pragma once

#include "attend/problem.hpp"

namespace attend::cpu_flash {

// Runs a problem that passed the dispatcher's checks and this backend's own.
// Allocates per-thread scratch once (may throw std::bad_alloc before any work starts).
void run(const Problem& problem);

}  // namespace attend::cpu_flash
