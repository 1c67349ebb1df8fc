// rel_err of `attend bench` (bench/README.md): against `math` on the timed problem when it is
// small, otherwise on a reduced problem of the same family; on a GPU also against `cuda_math` run
// on the timed problem's own device inputs.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "device_session.hpp"
#include "support/host_problem.hpp"

namespace attend::cli {

// A problem and its `math` output, computed on first use and shared by every backend: either
// the timed problem itself or a reduced one built on demand.
class ReferenceCache {
 public:
  explicit ReferenceCache(const support::HostProblem& timed) : problem_(&timed) {}
  explicit ReferenceCache(support::ProblemSpec spec) : spec_(std::move(spec)) {}
  const support::HostProblem& problem();
  const support::Output& output();

 private:
  support::ProblemSpec spec_;
  const support::HostProblem* problem_ = nullptr;
  std::optional<support::HostProblem> owned_;
  std::optional<support::Output> output_;
};

// Runs a backend on a problem other than the timed one (host buffers or a device copy);
// nullopt when the backend refuses it.
using ProblemRunner =
    std::function<std::optional<support::Output>(const support::HostProblem&, const std::string&)>;
std::optional<support::Output> run_on_host(const support::HostProblem& host,
                                           const std::string& backend);

// rel_err of `id` against math on `ref`'s problem: the timed one (its output is `timed_out`) or
// a reduced one, run with `run`. Null when the backend refuses the reduced problem. `failed` is
// set when the error is out of tolerance.
std::optional<double> error_vs_math(const std::string& id, const support::Output& timed_out,
                                    ReferenceCache& ref, bool is_timed, const ProblemRunner& run,
                                    bool& failed);

// cuda_math's output on a session's inputs, run once per problem on first use.
class CudaMathReference {
 public:
  // rel_err of `got` (backend `id`'s output of the session's problem) against it; null when
  // cuda_math cannot run the problem (the reason is printed on stderr once).
  std::optional<double> error(DeviceSession& session, const support::HostProblem& host,
                              const support::Output& got, const std::string& id, bool& failed);

 private:
  bool tried_ = false;
  std::optional<support::Output> out_;
};

}  // namespace attend::cli
