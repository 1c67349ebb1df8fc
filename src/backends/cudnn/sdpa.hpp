// The `cudnn` backend's link to cuDNN, in plain C++ (no cuDNN or CUDA types), so the
// registration compiles the same with or without cuDNN's headers.
#pragma once

#include <string>

#include "attend/backend.hpp"
#include "attend/problem.hpp"

namespace attend::cudnn {

// Whether cuDNN 9 could be loaded in this process, and its version; never throws.
Availability library_availability();

// Refusals cuDNN itself decides for this problem: the graph is built (once per problem
// signature, then cached) and cuDNN's own message is the reason when it does not support it.
void check_graph(const Problem& p, ReasonSink& sink);

// Runs a problem that passed check_graph.
void run(const Problem& p);

}  // namespace attend::cudnn
