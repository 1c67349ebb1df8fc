#include "bench_errors.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "attend/registry.hpp"
#include "reference.hpp"

namespace attend::cli {

const support::HostProblem& ReferenceCache::problem() {
  if (!problem_) problem_ = &owned_.emplace(spec_);
  return *problem_;
}

const support::Output& ReferenceCache::output() {
  if (!output_) output_ = reference_output(problem());
  return *output_;
}

std::optional<support::Output> run_on_host(const support::HostProblem& host,
                                           const std::string& backend) {
  support::Output out = host.make_output();
  const Params params = host.params(out);
  if (explain(params, backend).chosen.empty()) return std::nullopt;
  attention(params, backend);
  return out;
}

std::optional<double> error_vs_math(const std::string& id, const support::Output& timed_out,
                                    ReferenceCache& ref, bool is_timed, const ProblemRunner& run,
                                    bool& failed) {
  if (id == "math") return 0.0;  // the reference itself
  const support::HostProblem& problem = ref.problem();
  std::optional<support::Output> own;
  if (!is_timed) {
    own = run(problem, id);
    if (!own) return std::nullopt;
  }
  const Judgement j = judge(problem, is_timed ? timed_out : *own, ref.output(), id);
  failed = failed || !j.pass;
  return j.cmp.rel_l2;
}

std::optional<double> CudaMathReference::error(DeviceSession& session,
                                               const support::HostProblem& host,
                                               const support::Output& got, const std::string& id,
                                               bool& failed) {
  if (!tried_) {
    tried_ = true;
    if (explain(session.params(), "cuda_math").chosen.empty()) {
      fmt::print(stderr, "(cuda_math cannot run this problem: no rel_err against it) ");
    } else {
      try {
        out_ = session.output("cuda_math");
      } catch (const Error& e) {
        fmt::print(stderr, "(the cuda_math reference failed: {}) ", e.what());
      }
    }
  }
  if (!out_) return std::nullopt;
  const Judgement j = judge(host, got, *out_, id);
  failed = failed || !j.pass;
  return j.cmp.rel_l2;
}

}  // namespace attend::cli
