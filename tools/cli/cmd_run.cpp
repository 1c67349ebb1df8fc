// `attend run`: one problem on random inputs, timed, and checked against `math`.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "attend/registry.hpp"
#include "backend_flags.hpp"
#include "commands.hpp"
#include "problem_flags.hpp"
#include "problem_size.hpp"
#include "reference.hpp"
#include "timing.hpp"
#include "validators.hpp"

namespace attend::cli {

Command add_run_command(CLI::App& parent) {
  struct Options {
    ProblemFlags problem;
    std::string backend;
    int repeat = 5;
    int warmup = 1;
    bool no_check = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* app = parent.add_subcommand(
      "run", "Run one problem on random inputs: median time, GFLOP/s, error against math");
  app->footer(fmt::format(
      "The error is the relative L2 norm against the math reference (tolerance fp32 1e-5, "
      "bf16/fp16 1e-2), with NaN counts; the reference is skipped above {:.0e} FLOPs.\n"
      "Exit code 1 if the error is out of tolerance.",
      kReferenceFlopLimit));
  add_problem_flags(*app, opts->problem);
  app->add_option("--backend", opts->backend,
                  "backend id or diffusers alias (default: the process default, i.e. auto)");
  app->add_option("--repeat", opts->repeat, "timed runs")
      ->capture_default_str()
      ->check(at_least(1));
  app->add_option("--warmup", opts->warmup, "untimed runs first")
      ->capture_default_str()
      ->check(at_least(0));
  app->add_flag("--no-check", opts->no_check, "skip the comparison with math");
  return {app, [opts] {
            const support::ProblemSpec spec = to_spec(opts->problem);
            const std::string backend =
                opts->backend.empty() ? "" : resolve_backend_flag("--backend", opts->backend);
            require_host_memory(spec);
            const support::HostProblem host(spec);
            support::Output out = host.make_output();
            const Params params = host.params(out);

            // The same rule the call follows, so the line below names what actually runs.
            const Explanation ex = backend.empty() ? explain(params) : explain(params, backend);
            fmt::print("problem    {}\n", problem_line(spec, opts->problem.workload));
            fmt::print("backend    {}{}\n", ex.requested,
                       ex.requested == ex.chosen || ex.chosen.empty() ? "" : " -> " + ex.chosen);
            const auto call = [&] {
              if (backend.empty()) {
                attention(params);
              } else {
                attention(params, backend);
              }
            };
            const Timing t = time_calls(call, opts->warmup, opts->repeat);
            const double flops = support::flops(spec);
            fmt::print(
                "time       median {:.3f} ms over {} runs (min {:.3f}, max {:.3f}), {} warm-up\n",
                t.median_ms, opts->repeat, t.min_ms, t.max_ms, opts->warmup);
            fmt::print("speed      {:.2f} GFLOP/s\n", gflops(flops, t.median_ms));

            if (opts->no_check) {
              fmt::print("check      skipped (--no-check)\n");
              return 0;
            }
            if (ex.chosen == "math") {
              fmt::print("check      skipped: the backend is the reference\n");
              return 0;
            }
            if (flops > kReferenceFlopLimit) {
              fmt::print(
                  "check      skipped: {:.3g} FLOPs is above the {:.0e} the math reference "
                  "is run for; try smaller --sq/--sk\n",
                  flops, kReferenceFlopLimit);
              return 0;
            }
            const support::Output ref = reference_output(host);
            const Judgement j = judge(host, out, ref);
            fmt::print("check      {} vs math: {}\n", j.pass ? "PASS" : "FAIL", j.summary);
            return j.pass ? 0 : 1;
          }};
}

}  // namespace attend::cli
