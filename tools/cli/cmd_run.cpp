// `attend run`: one problem on random inputs, timed, and checked against `math` (and, on a GPU,
// against `cuda_math` on the same device inputs).
#include <fmt/format.h>

#include <memory>
#include <string>

#include "attend/registry.hpp"
#include "backend_flags.hpp"
#include "commands.hpp"
#include "device_flag.hpp"
#include "device_session.hpp"
#include "problem_flags.hpp"
#include "problem_size.hpp"
#include "reference.hpp"
#include "timing.hpp"
#include "usage_error.hpp"
#include "validators.hpp"

namespace attend::cli {
namespace {

struct Options {
  ProblemFlags problem;
  std::string backend;
  std::string device;
  int repeat = 5;
  int warmup = 1;
  bool no_check = false;
  const CLI::App* app = nullptr;
};

// Repeats default to 5 + 1 on a CPU and 20 + 3 on a GPU (DESIGN §7), unless given.
void device_defaults(Options& o, RunDevice device) {
  if (device != RunDevice::cuda) return;
  if (o.app->count("--repeat") == 0) o.repeat = 20;
  if (o.app->count("--warmup") == 0) o.warmup = 3;
}

void print_time(const Timing& t, const Options& o, double flops, RunDevice device) {
  fmt::print("time       median {:.3f} ms over {} runs (min {:.3f}, max {:.3f}), {} warm-up{}\n",
             t.median_ms, o.repeat, t.min_ms, t.max_ms, o.warmup,
             device == RunDevice::cuda ? ", CUDA events" : "");
  if (device == RunDevice::cuda) {
    fmt::print("speed      {:.2f} TFLOP/s\n", gflops(flops, t.median_ms) / 1e3);
  } else {
    fmt::print("speed      {:.2f} GFLOP/s\n", gflops(flops, t.median_ms));
  }
}

// Against math on the host, unless the problem is too big for plain loops. Returns pass.
bool check_against_math(const support::HostProblem& host, const support::Output& out, double flops,
                        const std::string& backend) {
  if (flops > kReferenceFlopLimit) {
    fmt::print(
        "check      skipped: {:.3g} FLOPs is above the {:.0e} the math reference "
        "is run for; try smaller --sq/--sk\n",
        flops, kReferenceFlopLimit);
    return true;
  }
  const support::Output ref = reference_output(host);
  const Judgement j = judge(host, out, ref, backend);
  fmt::print("check      {} vs math: {}\n", j.pass ? "PASS" : "FAIL", j.summary);
  return j.pass;
}

int run_on_cpu(const Options& o, const support::ProblemSpec& spec, const std::string& backend) {
  const support::HostProblem host(spec);
  support::Output out = host.make_output();
  const Params params = host.params(out);

  // The same rule the call follows, so the line below names what actually runs.
  const Explanation ex = backend.empty() ? explain(params) : explain(params, backend);
  fmt::print("problem    {}\n", problem_line(spec, o.problem.workload));
  fmt::print("backend    {}{}\n", ex.requested,
             ex.requested == ex.chosen || ex.chosen.empty() ? "" : " -> " + ex.chosen);
  const Timing t = time_calls([&] { call_backend(params, backend); }, o.warmup, o.repeat);
  const double flops = support::flops(spec);
  print_time(t, o, flops, RunDevice::cpu);

  if (o.no_check) {
    fmt::print("check      skipped (--no-check)\n");
    return 0;
  }
  if (ex.chosen == "math") {
    fmt::print("check      skipped: the backend is the reference\n");
    return 0;
  }
  return check_against_math(host, out, flops, ex.chosen) ? 0 : 1;
}

int run_on_gpu(const Options& o, const support::ProblemSpec& spec, const std::string& backend) {
  if (!backend.empty() && backend_device(backend) == DeviceKind::cpu) {
    throw UsageError("--backend " + backend + " runs on the CPU; add --device cpu");
  }
  const support::HostProblem host(spec);
  DeviceSession session(host);
  const Params& params = session.params();
  const Explanation ex = backend.empty() ? explain(params) : explain(params, backend);
  fmt::print("problem    {}\n", problem_line(spec, o.problem.workload));
  fmt::print("device     {}\n", session.describe());
  fmt::print("backend    {}{}\n", ex.requested,
             ex.requested == ex.chosen || ex.chosen.empty() ? "" : " -> " + ex.chosen);
  const Timing t = session.time(backend, o.warmup, o.repeat);
  const double flops = support::flops(spec);
  print_time(t, o, flops, RunDevice::cuda);

  if (o.no_check) {
    fmt::print("check      skipped (--no-check)\n");
    return 0;
  }
  const support::Output out = session.output(backend);
  bool pass = true;
  if (ex.chosen == "cuda_math") {
    fmt::print("check      vs cuda_math skipped: the backend is the reference\n");
  } else if (explain(params, "cuda_math").chosen.empty()) {
    fmt::print("check      vs cuda_math skipped: cuda_math cannot run this problem\n");
  } else {
    const Judgement j = judge(host, out, session.output("cuda_math"), ex.chosen);
    fmt::print("check      {} vs cuda_math: {}\n", j.pass ? "PASS" : "FAIL", j.summary);
    pass = j.pass;
  }
  return check_against_math(host, out, flops, ex.chosen) && pass ? 0 : 1;
}

}  // namespace

Command add_run_command(CLI::App& parent) {
  auto opts = std::make_shared<Options>();
  CLI::App* app = parent.add_subcommand(
      "run", "Run one problem on random inputs: median time, speed, error against math");
  opts->app = app;
  app->footer(fmt::format(
      "The error is the relative L2 norm against the math reference (tolerance fp32 1e-5, "
      "bf16/fp16 1e-2), with NaN counts; the reference is skipped above {:.0e} FLOPs.\n"
      "On a GPU (--device cuda, the default when one is present) the inputs are copied to the "
      "device, runs are timed with CUDA events on a stream of their own, rotating among input "
      "copies that together exceed twice the L2 size, and the output is also compared with "
      "cuda_math on the same inputs.\n"
      "Exit code 1 if the error is out of tolerance.",
      kReferenceFlopLimit));
  add_problem_flags(*app, opts->problem);
  app->add_option("--backend", opts->backend,
                  "backend id or diffusers alias (default: the process default, i.e. auto)");
  add_device_flag(*app, opts->device);
  app->add_option("--repeat", opts->repeat, "timed runs (default 5 on a CPU, 20 on a GPU)")
      ->check(at_least(1));
  app->add_option("--warmup", opts->warmup, "untimed runs first (default 1 on a CPU, 3 on a GPU)")
      ->check(at_least(0));
  app->add_flag("--no-check", opts->no_check, "skip the comparison with the references");
  return {app, [opts] {
            const support::ProblemSpec spec = to_spec(opts->problem);
            const std::string backend =
                opts->backend.empty() ? "" : resolve_backend_flag("--backend", opts->backend);
            const RunDevice device = resolve_device(opts->device);
            device_defaults(*opts, device);
            require_host_memory(spec);
            return device == RunDevice::cuda ? run_on_gpu(*opts, spec, backend)
                                             : run_on_cpu(*opts, spec, backend);
          }};
}

}  // namespace attend::cli
