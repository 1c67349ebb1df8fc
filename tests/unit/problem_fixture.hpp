// A small valid CPU problem for tests that exercise the dispatcher rather than the numbers.
#pragma once

#include "support/host_problem.hpp"

namespace attend::testing {

inline support::ProblemSpec small_spec(DType dtype = DType::f32) {
  support::ProblemSpec s;
  s.B = 2;
  s.Hq = 2;
  s.Hkv = 2;
  s.Sq = 5;
  s.Sk = 7;
  s.D = 16;
  s.dtype = dtype;
  return s;
}

}  // namespace attend::testing
