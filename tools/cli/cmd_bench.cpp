// `attend bench`: the named workloads of DESIGN §7, several backends side by side, against the
// machine's fp32 GEMM ceiling, written in the results-file schema.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attend/registry.hpp"
#include "attend/scope.hpp"
#include "backend_flags.hpp"
#include "commands.hpp"
#include "gemm_ceiling.hpp"
#include "machine_info.hpp"
#include "problem_size.hpp"
#include "reference.hpp"
#include "results_json.hpp"
#include "timing.hpp"
#include "usage_error.hpp"
#include "validators.hpp"
#include "workload_scaling.hpp"

namespace attend::cli {
namespace {

struct Options {
  std::vector<std::string> workloads;
  std::vector<std::string> backends;
  std::vector<std::string> dtypes{"bf16"};
  bool full = false;
  double target_flops = kBenchFlopTarget;
  std::string json;
  int repeat = 5;
  int warmup = 1;
};

// One (workload, dtype) problem and the backends asked to run it ("auto" is resolved later).
struct Job {
  support::Workload workload;
  support::ProblemSpec spec;
  bool scaled = false;
  std::vector<std::string> backends;
};

struct Row {
  ResultRow result;
  bool reduced_check = false;  // rel_err measured on the reduced problem
  bool failed = false;         // rel_err above the dtype's tolerance
};

// A problem and its `math` output, computed on first use and shared by every backend: either
// the timed problem itself or a reduced one built on demand.
class ReferenceCache {
 public:
  explicit ReferenceCache(const support::HostProblem& timed) : problem_(&timed) {}
  explicit ReferenceCache(support::ProblemSpec spec) : spec_(std::move(spec)) {}
  const support::HostProblem& problem() {
    if (!problem_) problem_ = &owned_.emplace(spec_);
    return *problem_;
  }
  const support::Output& output() {
    if (!output_) output_ = reference_output(problem());
    return *output_;
  }

 private:
  support::ProblemSpec spec_;
  const support::HostProblem* problem_ = nullptr;
  std::optional<support::HostProblem> owned_;
  std::optional<support::Output> output_;
};

std::vector<std::string> expand_backends(const std::vector<std::string>& requested,
                                         const support::ProblemSpec& spec) {
  std::vector<std::string> out;
  auto add = [&](const std::string& id) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  for (const std::string& r : requested) {
    if (r != "all") {
      add(r);
      continue;
    }
    for (const std::string& id : available_backends()) {
      // math is the reference, not a contender, and takes minutes on big problems.
      if (id != "math" || support::flops(spec) <= kBenchReferenceFlops) add(id);
    }
  }
  return out;
}

std::vector<Job> plan(const Options& o) {
  std::vector<support::Workload> workloads;
  if (o.workloads.empty()) workloads = support::workloads();
  for (const std::string& name : o.workloads) {
    const auto w = support::find_workload(name);
    if (!w) {
      std::string known;
      for (const auto& k : support::workloads()) known += (known.empty() ? "" : ", ") + k.name;
      throw UsageError("--workload: unknown workload '" + name + "'; known: " + known);
    }
    workloads.push_back(*w);
  }
  std::vector<std::string> requested;
  for (const std::string& b : o.backends) {
    requested.push_back(b == "all" ? b : resolve_backend_flag("--backend", b));
  }
  if (requested.empty()) requested.push_back(default_backend());

  std::vector<Job> jobs;
  for (const support::Workload& w : workloads) {
    for (const std::string& dtype : o.dtypes) {
      Job job{w, workload_spec(w, parse_float_dtype(dtype)), false, {}};
      if (!o.full) {
        const support::ProblemSpec scaled = scale_to_flops(job.spec, o.target_flops);
        job.scaled = scaled.Sq != job.spec.Sq || scaled.Hq != job.spec.Hq;
        job.spec = scaled;
      }
      job.backends = expand_backends(requested, job.spec);
      jobs.push_back(std::move(job));
    }
  }
  return jobs;
}

std::string shape_text(const support::ProblemSpec& s) {
  return fmt::format("B{} Hq{} Hkv{} S{} D{}{}", s.B, s.Hq, s.Hkv, s.Sq, s.D,
                     s.causal ? " causal" : "");
}

std::string codes_of(const Explanation& ex, const std::string& id) {
  for (const Verdict& v : ex.verdicts) {
    if (v.backend != id) continue;
    std::string codes;
    for (const Reason& r : v.reasons) {
      codes += (codes.empty() ? "" : ", ") + std::string(code_name(r.code));
    }
    return codes;
  }
  return "not registered";
}

ResultRow result_row(const Job& job, const std::string& id, double median_ms) {
  const support::ProblemSpec& s = job.spec;
  ResultRow r;
  r.workload = job.workload.name;
  r.backend = id;
  r.dtype = std::string(name(s.dtype));
  r.B = s.B;
  r.Hq = s.Hq;
  r.Hkv = s.Hkv;
  r.Sq = s.Sq;
  r.Sk = s.Sk;
  r.D = s.D;
  r.causal = s.causal;
  r.median_ms = median_ms;
  r.tflops = gflops(support::flops(s), median_ms) / 1e3;
  return r;
}

// rel_err of `id` against math on `ref`'s problem: the timed one (its output is already in
// `timed_out`) or a reduced one, run here. Null when the backend refuses the reduced problem.
std::optional<double> measure_error(const std::string& id, const support::Output& timed_out,
                                    ReferenceCache& ref, bool is_timed, bool& failed) {
  if (id == "math") return 0.0;  // the reference itself
  const support::HostProblem& problem = ref.problem();
  support::Output own;
  if (!is_timed) {
    own = problem.make_output();
    const Params params = problem.params(own);
    if (explain(params, id).chosen.empty()) return std::nullopt;
    attention(params, id);
  }
  const Judgement j = judge(problem, is_timed ? timed_out : own, ref.output());
  failed = !j.pass;
  return j.cmp.rel_l2;
}

void print_table(const std::vector<Row>& rows, const GemmCeiling& ceiling) {
  fmt::print("ceiling: {} = {:.1f} GFLOP/s (median of {})\n\n", ceiling.what, ceiling.gflops,
             ceiling.runs);
  fmt::print(
      "{:<11} {:<5} {:<10} {:>2} {:>3} {:>3} {:>6} {:>6} {:>4} {:<6} {:>10} {:>9} {:>8} {}\n",
      "workload", "dtype", "backend", "B", "Hq", "Hkv", "Sq", "Sk", "D", "causal", "median ms",
      "GFLOP/s", "ceiling", "rel_err");
  for (const Row& row : rows) {
    const ResultRow& r = row.result;
    const double g = r.tflops * 1e3;
    std::string err = "-";
    if (r.rel_err) {
      err = fmt::format("{:.2e}{}{}", *r.rel_err, row.reduced_check ? " (reduced)" : "",
                        row.failed ? " FAIL" : "");
    }
    fmt::print(
        "{:<11} {:<5} {:<10} {:>2} {:>3} {:>3} {:>6} {:>6} {:>4} {:<6} {:>10.2f} {:>9.2f} "
        "{:>7.1f}% {}\n",
        r.workload, r.dtype, r.backend, r.B, r.Hq, r.Hkv, r.Sq, r.Sk, r.D, r.causal ? "yes" : "no",
        r.median_ms, g, ceiling.gflops > 0 ? 100.0 * g / ceiling.gflops : 0.0, err);
  }
}

int run_bench(const Options& o) {
  const std::vector<Job> jobs = plan(o);
  std::size_t total = 0;
  for (const Job& j : jobs) total += j.backends.size();
  std::vector<Row> rows;
  std::size_t step = 0;
  for (const Job& job : jobs) {
    const support::ProblemSpec& spec = job.spec;
    const double flops = support::flops(spec);
    fmt::print(stderr, "{} {}: {} ({:.2e} FLOPs){}\n", job.workload.name, name(spec.dtype),
               shape_text(spec), flops,
               job.scaled ? fmt::format(", scaled from S{} Hq{} (--full keeps the named size)",
                                        job.workload.S, job.workload.Hq)
                          : "");
    require_host_memory(spec);
    const support::HostProblem host(spec);
    support::Output out = host.make_output();
    const Params params = host.params(out);
    const bool check_timed = flops <= kBenchReferenceFlops;
    ReferenceCache ref =
        check_timed ? ReferenceCache(host) : ReferenceCache(reduced_for_reference(spec));
    std::vector<std::string> done;

    for (const std::string& requested : job.backends) {
      ++step;
      fmt::print(stderr, "[{}/{}] {} {} {} ... ", step, total, job.workload.name, name(spec.dtype),
                 requested);
      std::string id = requested;
      if (requested == kAuto) {
        id = explain(params, kAuto).chosen;
        fmt::print(stderr, "-> {} ", id.empty() ? "(none)" : id);
      }
      if (id.empty() || std::find(done.begin(), done.end(), id) != done.end()) {
        fmt::print(stderr, "{}\n",
                   id.empty() ? "skipped: no backend can run it" : "already measured");
        continue;
      }
      const Explanation ex = explain(params, id);
      if (ex.chosen.empty()) {
        fmt::print(stderr, "skipped: refuses ({})\n", codes_of(ex, id));
        continue;
      }
      const Timing t = time_calls([&] { attention(params, id); }, o.warmup, o.repeat);
      done.push_back(id);
      Row row;
      row.reduced_check = !check_timed && id != "math";
      row.result = result_row(job, id, t.median_ms);
      row.result.rel_err = measure_error(id, out, ref, check_timed, row.failed);
      fmt::print(stderr, "{:.2f} ms, {:.2f} GFLOP/s\n", t.median_ms, gflops(flops, t.median_ms));
      rows.push_back(std::move(row));
    }
  }
  fmt::print(stderr, "measuring the GEMM ceiling ...\n");
  const GemmCeiling ceiling = measure_gemm_ceiling();
  print_table(rows, ceiling);

  if (!o.json.empty()) {
    ResultsFile file{cpu_results_tag(), today(), git_commit(), {}, ceiling};
    for (const Row& r : rows) file.results.push_back(r.result);
    write_results(file, o.json);
    fmt::print("\nwrote {}\n", o.json);
  }
  if (rows.empty()) {
    fmt::print(stderr, "attend bench: nothing was measured\n");
    return 1;
  }
  const bool any_failed =
      std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.failed; });
  return any_failed ? 1 : 0;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  auto opts = std::make_shared<Options>();
  CLI::App* app = parent.add_subcommand(
      "bench", "Time the named workloads on several backends against the machine's GEMM ceiling");
  app->footer(fmt::format(
      "Workloads: flux, sd3, wan-480p, llm-causal, llm-gqa, hd256, hd64, bf16 by default. Each "
      "result is printed in GFLOP/s and as a fraction of the fp32 GEMM ceiling "
      "(OpenBLAS sgemm 2048^3, measured in the same run). Progress goes to stderr.\n"
      "Sizes: by default each workload is scaled to the device: S shrinks (then the head count, "
      "keeping Hq/Hkv) until one run is about {:.0e} FLOPs; D, B and causal stay. --full keeps "
      "the named sizes.\n"
      "rel_err: against math on the timed problem when it is at most {:.0e} FLOPs, otherwise on "
      "a reduced problem of the same family (B 1, at most 2 KV heads, S at most 256, same D, "
      "causal, dtype and Hq/Hkv); null when the backend cannot run that.\n"
      "JSON (--json FILE): the results-file schema (see bench/README.md); for a CPU run \"gpu\" is "
      "the CPU "
      "model name from /proc/cpuinfo prefixed \"cpu:\", and \"ceiling\" holds the GEMM "
      "ceiling.\nExit code 1 if a backend's rel_err is above the dtype's tolerance.",
      kBenchFlopTarget, kBenchReferenceFlops));
  app->add_option("--workload", opts->workloads, "workloads to run (default: all)")->delimiter(',');
  app->add_option("--backend", opts->backends,
                  "backends side by side; 'all' = every available backend (math only on small "
                  "problems); default: the process default, i.e. auto")
      ->delimiter(',');
  app->add_option("--dtype", opts->dtypes, "element types")
      ->delimiter(',')
      ->capture_default_str()
      ->check(dtype_validator());
  app->add_flag("--full", opts->full, "keep the named sizes instead of scaling them");
  app->add_option("--target-flops", opts->target_flops, "FLOPs of one run after scaling")
      ->capture_default_str()
      ->check(at_least(1));
  app->add_option("--json", opts->json, "write the results file here");
  app->add_option("--repeat", opts->repeat, "timed runs per backend (median reported)")
      ->capture_default_str()
      ->check(at_least(1));
  app->add_option("--warmup", opts->warmup, "untimed runs first")
      ->capture_default_str()
      ->check(at_least(0));
  return {app, [opts] { return run_bench(*opts); }};
}

}  // namespace attend::cli
