#include "reference.hpp"

#include <fmt/format.h>

#include "attend/registry.hpp"

namespace attend::cli {
support::Output reference_output(const support::HostProblem& problem) {
  support::Output ref = problem.make_output();
  attention(problem.params(ref), "math");
  return ref;
}

Judgement judge(const support::HostProblem& problem, const support::Output& got,
                const support::Output& ref) {
  Judgement j;
  const DType dtype = problem.spec().dtype;
  j.cmp = support::compare(problem, got, ref);
  j.tolerance = support::tolerance(dtype);
  j.lse_tolerance = support::lse_tolerance(dtype);
  j.pass = support::passes(j.cmp, dtype);
  j.summary = fmt::format("rel L2 {:.2e} (<= {:.0e}), max abs {:.2e}, NaN {}", j.cmp.rel_l2,
                          j.tolerance, j.cmp.max_abs, j.cmp.nan);
  if (problem.spec().lse) {
    j.summary += fmt::format(", LSE max abs {:.2e} (<= {:.0e}), LSE mismatches {}",
                             j.cmp.lse_max_abs, j.lse_tolerance, j.cmp.lse_mismatch);
  }
  return j;
}

}  // namespace attend::cli
