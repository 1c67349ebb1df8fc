// `attend explain`: what every backend says about one problem, and which one a call would take.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "attend/registry.hpp"
#include "backend_flags.hpp"
#include "commands.hpp"
#include "problem_flags.hpp"
#include "problem_size.hpp"

namespace attend::cli {
namespace {

std::string reason_codes(const Verdict& v) {
  std::string codes;
  for (const Reason& r : v.reasons) {
    const std::string code(code_name(r.code));
    if (codes.find(code) == std::string::npos) codes += (codes.empty() ? "" : ", ") + code;
  }
  return codes;
}

const Verdict* find_verdict(const Explanation& ex, const std::string& id) {
  for (const Verdict& v : ex.verdicts) {
    if (v.backend == id) return &v;
  }
  return nullptr;
}

std::string source_text(Source s) {
  switch (s) {
    case Source::argument:
      return "--backend";
    case Source::scope:
      return "a BackendScope";
    case Source::layer:
      return "the layer";
    case Source::process_default:
      return "the process default: ATTEND_BACKEND, else auto";
  }
  return "?";
}

void print_text(const Explanation& ex, const std::string& problem) {
  fmt::print("problem    {}\n", problem);
  fmt::print("requested  {} (from {})\n\n", ex.requested, source_text(ex.source));
  std::size_t width = 7;
  for (const Verdict& v : ex.verdicts) width = std::max(width, v.backend.size());
  fmt::print("{:<{}}  score  verdict\n", "backend", width);
  for (const Verdict& v : ex.verdicts) {
    const std::string verdict = v.ok ? "can run" : "refuses (" + reason_codes(v) + ")";
    fmt::print("{:<{}}  {:>5}  {}{}\n", v.backend, width, v.score, verdict,
               v.backend == ex.chosen ? "   <- chosen" : "");
  }
  fmt::print("\n{}\n", format_verdicts(ex.verdicts));
  if (ex.requested == kAuto) {
    if (ex.chosen.empty()) {
      fmt::print("auto: no backend can run this problem; a call would throw NoBackendError.\n");
    } else {
      fmt::print("auto: {}, the first backend by availability score (score {}) that passes.\n",
                 ex.chosen, find_verdict(ex, ex.chosen)->score);
    }
    return;
  }
  if (!ex.chosen.empty()) {
    fmt::print("{}: can run this problem and would be used.\n", ex.chosen);
    return;
  }
  std::string could;
  for (const Verdict& v : ex.verdicts) {
    if (v.ok) could += (could.empty() ? "" : ", ") + v.backend;
  }
  fmt::print("{}: cannot run this problem; a call would throw NoBackendError. {}\n", ex.requested,
             could.empty() ? "No backend can." : "Backends that can: " + could + ".");
}

nlohmann::ordered_json to_json(const Explanation& ex, const support::ProblemSpec& spec,
                               const std::string& workload) {
  using Json = nlohmann::ordered_json;
  Json verdicts = Json::array();
  for (const Verdict& v : ex.verdicts) {
    Json reasons = Json::array();
    for (const Reason& r : v.reasons) {
      reasons.push_back({{"code", std::string(code_name(r.code))},
                         {"what", r.what},
                         {"expected", r.expected},
                         {"got", r.got}});
    }
    verdicts.push_back({{"backend", v.backend},
                        {"ok", v.ok},
                        {"score", v.score},
                        {"reasons", std::move(reasons)},
                        {"notes", v.notes}});
  }
  Json problem = {{"description", spec.describe()}, {"flops", support::flops(spec)}};
  if (!workload.empty()) problem["workload"] = workload;
  return {{"problem", std::move(problem)},
          {"requested", ex.requested},
          {"source", std::string(source_name(ex.source))},
          {"chosen", ex.chosen.empty() ? Json(nullptr) : Json(ex.chosen)},
          {"verdicts", std::move(verdicts)}};
}

}  // namespace

Command add_explain_command(CLI::App& parent) {
  struct Options {
    ProblemFlags problem;
    std::string backend;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* app = parent.add_subcommand(
      "explain", "What every backend says about a problem, and which one a call would take");
  app->footer(
      "Prints every backend's verdict (backend | what | expected | got) on a problem of that "
      "shape, and the backend that attend::attention would run.\n"
      "Exit code 1 when the requested backend (or auto) cannot run the problem.");
  add_problem_flags(*app, opts->problem);
  app->add_option("--backend", opts->backend,
                  "the backend to ask for (default: the process default, i.e. auto)");
  app->add_flag("--json", opts->json, "print JSON instead of text");
  return {app, [opts] {
            support::ProblemSpec spec = to_spec(opts->problem);
            spec.random_inputs = false;  // explain reads shapes, never values
            const std::string backend =
                opts->backend.empty() ? "" : resolve_backend_flag("--backend", opts->backend);
            require_host_memory(spec);
            const support::HostProblem host(spec);
            support::Output out = host.make_output();
            const Params params = host.params(out);
            const Explanation ex = backend.empty() ? explain(params) : explain(params, backend);
            if (opts->json) {
              fmt::print("{}\n", to_json(ex, spec, opts->problem.workload).dump(2));
            } else {
              print_text(ex, problem_line(spec, opts->problem.workload));
            }
            return ex.chosen.empty() ? 1 : 0;
          }};
}

}  // namespace attend::cli
