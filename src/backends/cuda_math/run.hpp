// Entry point of the cuda_math kernels (run.cpp), callable from plain C++: the backend's
// registration compiles in every build, the run only where CUDA is built.
#pragma once

#include "attend/problem.hpp"

namespace attend::cuda_math {

// Runs a problem that passed the backend's checks, on the problem's device and stream. Enqueues
// work only: the host never waits.
void run(const Problem& problem);

}  // namespace attend::cuda_math
