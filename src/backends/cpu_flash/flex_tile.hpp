// The state of a call's FlexSpec callables in cpu_flash, shared by the driver and flex_tile.cpp
// (both baseline ISA; the kernels only pass a pointer to it along).
#pragma once

#include <atomic>
#include <exception>

#include "attend/flex.hpp"

namespace attend::cpu_flash {

// The callables run on the OpenMP threads, where nothing may throw: the first exception one of
// them throws is kept here, the threads stop calling them, and the driver rethrows it once the
// threads have joined.
struct FlexState {
  const FlexSpec* spec = nullptr;
  std::atomic<bool> failed{false};  // set once, by the thread that stores `error`
  std::exception_ptr error;         // read only after the threads have joined
};

}  // namespace attend::cpu_flash
