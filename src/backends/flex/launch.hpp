// Entry points of the flex backend, callable from plain C++ (backend.cpp compiles in every
// build; run and the block masks only where CUDA is built).
#pragma once

#include <memory>

#include "attend/flex.hpp"
#include "attend/problem.hpp"
#include "backends/flex/codegen.hpp"

namespace attend::flex {

// The module variant a problem runs on.
Variant variant_of(const Problem& p);

// Runs a problem that passed the backend's checks on an sm_90 device.
void run(const Problem& p);

// The block mask of p.flex's mask_mod for p's sizes, built on p's device and stream.
std::shared_ptr<const FlexBlockMask> build_block_mask(const Problem& p);

}  // namespace attend::flex
