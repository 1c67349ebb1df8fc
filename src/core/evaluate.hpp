// The single decision "can this backend run this problem": availability, the capability data,
// then the backend's own checks. explain() and attention() both call it, so they cannot disagree.
#pragma once

#include "attend/backend.hpp"
#include "attend/problem.hpp"

namespace attend::core {

void evaluate(const Backend& backend, const Availability& availability, const Problem& problem,
              ReasonSink& sink);

}  // namespace attend::core
