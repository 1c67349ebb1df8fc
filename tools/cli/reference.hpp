// Judging a backend's output against the `math` reference with DESIGN §7's tolerances.
#pragma once

#include <string>

#include "support/host_problem.hpp"

namespace attend::cli {

// Above this many FLOPs `attend run` skips the reference: `math` runs plain loops and would
// take minutes on a CPU.
inline constexpr double kReferenceFlopLimit = 2e10;

// `math`'s output for the problem (fresh, NaN-poisoned buffers).
support::Output reference_output(const support::HostProblem& problem);

struct Judgement {
  support::Comparison cmp;
  bool quantized = false;      // judged by cosine and relative L1 instead
  double tolerance = 0.0;      // on the relative L2 error of out
  double lse_tolerance = 0.0;  // on the absolute error of finite LSE entries
  bool pass = false;
  std::string summary;  // "rel L2 1.2e-03 (<= 1e-02), max abs ..., NaN 0"
};

// `backend`: the one that produced `got`; a quantized backend is held to cosine similarity and
// relative L1 (support::passes_quantized) rather than the dtype's tolerance.
Judgement judge(const support::HostProblem& problem, const support::Output& got,
                const support::Output& ref, std::string_view backend);

}  // namespace attend::cli
