#include "reference.hpp"

#include <fmt/format.h>

#include "attend/registry.hpp"

namespace attend::cli {
support::Output reference_output(const support::HostProblem& problem) {
  support::Output ref = problem.make_output();
  attention(problem.params(ref), "math");
  return ref;
}

namespace {
bool quantized_backend(std::string_view id) {
  for (const BackendInfo& b : list_backends()) {
    if (b.id == id) return b.capabilities.quantized;
  }
  return false;
}
}  // namespace

Judgement judge(const support::HostProblem& problem, const support::Output& got,
                const support::Output& ref, std::string_view backend) {
  Judgement j;
  const DType dtype = problem.spec().dtype;
  j.cmp = support::compare(problem, got, ref);
  j.quantized = quantized_backend(backend);
  if (j.quantized) {
    j.lse_tolerance = support::kQuantizedLse;
    j.pass = support::passes_quantized(j.cmp);
    j.summary = fmt::format(
        "quantized: cosine {:.5f} (>= {}), rel L1 {:.2e} (<= {}), rel L2 {:.2e}, NaN {}",
        j.cmp.cosine, support::kQuantizedCosine, j.cmp.rel_l1, support::kQuantizedRelL1,
        j.cmp.rel_l2, j.cmp.nan);
  } else {
    j.tolerance = support::tolerance(dtype);
    j.lse_tolerance = support::lse_tolerance(dtype);
    j.pass = support::passes(j.cmp, dtype);
    j.summary = fmt::format("rel L2 {:.2e} (<= {:.0e}), max abs {:.2e}, NaN {}", j.cmp.rel_l2,
                            j.tolerance, j.cmp.max_abs, j.cmp.nan);
  }
  if (problem.spec().lse && j.quantized) {
    j.summary += fmt::format(", LSE max |error|/(1+|LSE|) {:.2e} (<= {:.0e}), LSE mismatches {}",
                             j.cmp.lse_max_rel, j.lse_tolerance, j.cmp.lse_mismatch);
  } else if (problem.spec().lse) {
    j.summary += fmt::format(", LSE max abs {:.2e} (<= {:.0e}), LSE mismatches {}",
                             j.cmp.lse_max_abs, j.lse_tolerance, j.cmp.lse_mismatch);
  }
  return j;
}

}  // namespace attend::cli
