// `attend bench`: the named workloads of DESIGN §7, several backends side by side, against the
// device's GEMM ceiling, written in the results-file schema. On a CPU the host clock times the
// calls; on a GPU CUDA events do, rotating among device copies of the inputs.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attend/registry.hpp"
#include "backend_flags.hpp"
#include "bench_errors.hpp"
#include "bench_plan.hpp"
#include "commands.hpp"
#include "device_session.hpp"
#include "gemm_ceiling.hpp"
#include "gpu_runtime.hpp"
#include "machine_info.hpp"
#include "problem_size.hpp"
#include "results_json.hpp"
#include "timing.hpp"
#include "validators.hpp"

namespace attend::cli {
namespace {

struct Row {
  ResultRow result;
  bool reduced_check = false;          // the math comparison used the reduced problem
  std::optional<double> vs_math;       // GPU runs: rel_err against math
  std::optional<double> vs_cuda_math;  // GPU runs: rel_err against cuda_math
  bool failed = false;                 // an error above the dtype's tolerance, or the run threw
};

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

std::string error_text(const std::optional<double>& e, bool reduced, bool failed) {
  if (!e) return "-";
  return fmt::format("{:.2e}{}{}", *e, reduced ? " (reduced)" : "", failed ? " FAIL" : "");
}

void print_table(const std::vector<Row>& rows, const GemmCeiling& ceiling, RunDevice device) {
  const bool gpu = device == RunDevice::cuda;
  const double unit = gpu ? 1e3 : 1.0;  // GFLOP/s per printed unit
  fmt::print("ceiling: {} = {:.1f} {} (median of {})\n\n", ceiling.what, ceiling.gflops / unit,
             gpu ? "TFLOP/s" : "GFLOP/s", ceiling.runs);
  fmt::print(
      "{:<11} {:<5} {:<12} {:>2} {:>3} {:>3} {:>6} {:>6} {:>4} {:<6} {:>10} {:>9} {:>8} {}\n",
      "workload", "dtype", "backend", "B", "Hq", "Hkv", "Sq", "Sk", "D", "causal", "median ms",
      gpu ? "TFLOP/s" : "GFLOP/s", "ceiling", gpu ? "rel_err vs cuda_math | vs math" : "rel_err");
  for (const Row& row : rows) {
    const ResultRow& r = row.result;
    const double g = r.tflops * 1e3;
    const std::string err =
        gpu ? fmt::format("{} | {}{}", error_text(row.vs_cuda_math, false, false),
                          error_text(row.vs_math, row.reduced_check, false),
                          row.failed ? " FAIL" : "")
            : error_text(r.rel_err, row.reduced_check, row.failed);
    fmt::print(
        "{:<11} {:<5} {:<12} {:>2} {:>3} {:>3} {:>6} {:>6} {:>4} {:<6} {:>10.{}f} {:>9.2f} "
        "{:>7.1f}% {}\n",
        r.workload, r.dtype, r.backend, r.B, r.Hq, r.Hkv, r.Sq, r.Sk, r.D, r.causal ? "yes" : "no",
        r.median_ms, gpu ? 3 : 2, g / unit, ceiling.gflops > 0 ? 100.0 * g / ceiling.gflops : 0.0,
        err);
  }
}

// One job's backends, timed and checked on the host or on the GPU.
class JobRunner {
 public:
  JobRunner(const Job& job, RunDevice device)
      : job_(job),
        host_(job.spec),
        gpu_(device == RunDevice::cuda),
        check_timed_(support::flops(job.spec) <= kBenchReferenceFlops),
        ref_(check_timed_ ? ReferenceCache(host_)
                          : ReferenceCache(reduced_for_reference(job.spec))) {
    if (gpu_) {
      session_.emplace(host_);
      fmt::print(stderr, "  on {}\n", session_->describe());
    } else {
      out_ = host_.make_output();
      params_ = host_.params(out_);
    }
  }
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  const Params& params() const { return gpu_ ? session_->params() : params_; }

  Row measure(const std::string& id, const BenchOptions& o) {
    Row row;
    row.reduced_check = !check_timed_ && id != "math";
    if (gpu_) {
      const Timing t = session_->time(id, o.warmup, o.repeat);
      row.result = result_row(job_, id, t.median_ms);
      const support::Output out = session_->output(id);
      row.vs_math = error_vs_math(id, out, ref_, check_timed_, run_on_device, row.failed);
      if (id != "cuda_math")
        row.vs_cuda_math = cuda_ref_.error(*session_, host_, out, id, row.failed);
      row.result.rel_err = row.vs_cuda_math ? row.vs_cuda_math : row.vs_math;
    } else {
      const Timing t = time_calls([&] { attention(params_, id); }, o.warmup, o.repeat);
      row.result = result_row(job_, id, t.median_ms);
      row.result.rel_err = error_vs_math(id, out_, ref_, check_timed_, run_on_host, row.failed);
    }
    return row;
  }

 private:
  const Job& job_;
  const support::HostProblem host_;
  const bool gpu_;
  const bool check_timed_;
  ReferenceCache ref_;
  support::Output out_;  // CPU runs write here
  Params params_;
  std::optional<DeviceSession> session_;
  CudaMathReference cuda_ref_;
};

int run_bench(BenchOptions o, const CLI::App& app) {
  const RunDevice device = resolve_device(o.device);
  const bool gpu = device == RunDevice::cuda;
  if (gpu && app.count("--repeat") == 0) o.repeat = 20;  // DESIGN §7: median of >= 20
  if (gpu && app.count("--warmup") == 0) o.warmup = 3;
  o.target_given = app.count("--target-flops") > 0;
  const std::vector<Job> jobs = plan(o, device);
  std::size_t total = 0;
  for (const Job& j : jobs) total += j.backends.size();
  std::vector<Row> rows;
  bool any_failed = false;
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
    std::optional<JobRunner> runner;
    try {
      runner.emplace(job, device);
    } catch (const Error& e) {
      fmt::print(stderr, "  skipped: the inputs could not be set up: {}\n", e.what());
      step += job.backends.size();
      continue;
    }
    std::vector<std::string> done;
    for (const std::string& requested : job.backends) {
      ++step;
      fmt::print(stderr, "[{}/{}] {} {} {} ... ", step, total, job.workload.name, name(spec.dtype),
                 requested);
      std::fflush(stderr);
      std::string id = requested;
      if (requested == kAuto) {
        id = explain(runner->params(), kAuto).chosen;
        fmt::print(stderr, "-> {} ", id.empty() ? "(none)" : id);
      }
      if (id.empty() || std::find(done.begin(), done.end(), id) != done.end()) {
        fmt::print(stderr, "{}\n",
                   id.empty() ? "skipped: no backend can run it" : "already measured");
        continue;
      }
      if (gpu && backend_device(id) == DeviceKind::cpu) {
        fmt::print(stderr, "skipped: a CPU backend (bench it with --device cpu)\n");
        continue;
      }
      const Explanation ex = explain(runner->params(), id);
      if (ex.chosen.empty()) {
        fmt::print(stderr, "skipped: refuses ({})\n", codes_of(ex, id));
        continue;
      }
      done.push_back(id);
      try {
        Row row = runner->measure(id, o);
        if (gpu) {
          fmt::print(stderr, "{:.3f} ms, {:.1f} TFLOP/s\n", row.result.median_ms,
                     row.result.tflops);
        } else {
          fmt::print(stderr, "{:.2f} ms, {:.2f} GFLOP/s\n", row.result.median_ms,
                     row.result.tflops * 1e3);
        }
        any_failed = any_failed || row.failed;
        rows.push_back(std::move(row));
      } catch (const Error& e) {
        fmt::print(stderr, "FAILED: {}\n", e.what());
        any_failed = true;
      }
    }
  }
  fmt::print(stderr, "measuring the GEMM ceiling ...\n");
  const GemmCeiling ceiling =
      gpu ? measure_gpu_gemm_ceiling(GpuStream().get()) : measure_gemm_ceiling();
  print_table(rows, ceiling, device);

  if (!o.json.empty()) {
    ResultsFile file{
        gpu ? gpu_info(0).name : cpu_results_tag(), today(), git_commit(), {}, ceiling};
    for (const Row& r : rows) file.results.push_back(r.result);
    write_results(file, o.json);
    fmt::print("\nwrote {}\n", o.json);
  }
  if (rows.empty()) {
    fmt::print(stderr, "attend bench: nothing was measured\n");
    return 1;
  }
  return any_failed ? 1 : 0;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* app = parent.add_subcommand(
      "bench", "Time the named workloads on several backends against the device's GEMM ceiling");
  app->footer(fmt::format(
      "Workloads: flux, sd3, wan-480p, llm-causal, llm-gqa, hd256, hd64, bf16 by default. Each "
      "result is printed with its speed as a fraction of the GEMM ceiling measured in the same "
      "run (CPU: OpenBLAS sgemm 2048^3 fp32; GPU: cuBLAS bf16 GEMM 8192^3). Progress goes to "
      "stderr.\n"
      "Sizes: on a CPU each workload is scaled to the device: S shrinks (then the head count, "
      "keeping Hq/Hkv) until one run is about {:.0e} FLOPs; D, B and causal stay. --full keeps "
      "the named sizes. On a GPU the named sizes are kept unless --target-flops is given.\n"
      "Time: CPU, the host clock (5 runs after 1 warm-up by default); GPU, CUDA events on a "
      "stream of its own (20 runs after 3 warm-up by default), rotating among device copies of "
      "the inputs that together exceed twice the L2 size.\n"
      "rel_err: against math on the timed problem when it is at most {:.0e} FLOPs, otherwise on "
      "a reduced problem of the same family (B 1, at most 2 KV heads, S at most 256, same D, "
      "causal, dtype and Hq/Hkv); null when the backend cannot run that. On a GPU the JSON "
      "rel_err is against cuda_math on the timed problem's own inputs (math's is printed beside "
      "it, and both must pass).\n"
      "JSON (--json FILE): the results-file schema (see bench/README.md); \"gpu\" is the device "
      "name (name the file bench/results/<date>-h200.json and so on), or for a CPU run the CPU "
      "model name prefixed \"cpu:\"; \"ceiling\" holds the GEMM ceiling.\n"
      "Exit code 1 if a backend's rel_err is above the dtype's tolerance or a run failed.",
      kBenchFlopTarget, kBenchReferenceFlops));
  app->add_option("--workload", opts->workloads, "workloads to run (default: all)")->delimiter(',');
  app->add_option("--backend", opts->backends,
                  "backends side by side; 'all' = every available backend of the device (math "
                  "only on small CPU problems); default: the process default, i.e. auto")
      ->delimiter(',');
  add_device_flag(*app, opts->device);
  app->add_option("--dtype", opts->dtypes, "element types")
      ->delimiter(',')
      ->capture_default_str()
      ->check(dtype_validator());
  app->add_flag("--full", opts->full, "keep the named sizes instead of scaling them");
  app->add_option("--target-flops", opts->target_flops, "FLOPs of one run after scaling")
      ->capture_default_str()
      ->check(at_least(1));
  app->add_option("--json", opts->json, "write the results file here");
  app->add_option("--repeat", opts->repeat,
                  "timed runs per backend, median reported (default 5 on a CPU, 20 on a GPU)")
      ->check(at_least(1));
  app->add_option("--warmup", opts->warmup, "untimed runs first (default 1 on a CPU, 3 on a GPU)")
      ->check(at_least(0));
  return {app, [opts, app] { return run_bench(*opts, *app); }};
}

}  // namespace attend::cli
