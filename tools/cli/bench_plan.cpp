#include "bench_plan.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>

#include "attend/scope.hpp"
#include "backend_flags.hpp"
#include "usage_error.hpp"
#include "validators.hpp"

namespace attend::cli {
namespace {

std::vector<std::string> expand_backends(const std::vector<std::string>& requested,
                                         const support::ProblemSpec& spec, RunDevice device) {
  std::vector<std::string> out;
  auto add = [&](const std::string& id) {
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  };
  for (const std::string& r : requested) {
    if (r != "all") {
      add(r);
      continue;
    }
    if (device == RunDevice::cuda) {
      for (const std::string& id : available_backends(DeviceKind::cuda)) add(id);
      continue;
    }
    for (const std::string& id : available_backends(DeviceKind::cpu)) {
      // math is the reference, not a contender, and takes minutes on big problems.
      if (id != "math" || support::flops(spec) <= kBenchReferenceFlops) add(id);
    }
  }
  return out;
}

std::vector<support::Workload> chosen_workloads(const BenchOptions& o) {
  if (o.workloads.empty()) return support::workloads();
  std::vector<support::Workload> out;
  for (const std::string& name : o.workloads) {
    const auto w = support::find_workload(name);
    if (!w) {
      std::string known;
      for (const auto& k : support::workloads()) known += (known.empty() ? "" : ", ") + k.name;
      throw UsageError("--workload: unknown workload '" + name + "'; known: " + known);
    }
    out.push_back(*w);
  }
  return out;
}

}  // namespace

std::vector<Job> plan(const BenchOptions& o, RunDevice device) {
  const std::vector<support::Workload> workloads = chosen_workloads(o);
  std::vector<std::string> requested;
  for (const std::string& b : o.backends) {
    requested.push_back(b == "all" ? b : resolve_backend_flag("--backend", b));
  }
  if (requested.empty()) requested.push_back(default_backend());
  const bool all = std::find(requested.begin(), requested.end(), "all") != requested.end();
  if (all && device == RunDevice::cuda) {
    const std::vector<std::string> cpu = available_backends(DeviceKind::cpu);
    if (!cpu.empty()) {
      fmt::print(stderr,
                 "--backend all on the GPU leaves out {}: CPU backends take minutes on the named "
                 "sizes (bench them with --device cpu)\n",
                 fmt::join(cpu, ", "));
    }
  }
  // On a GPU the named sizes are what is measured; an explicit --target-flops still scales.
  const bool scale = !o.full && (device == RunDevice::cpu || o.target_given);

  std::vector<Job> jobs;
  for (const support::Workload& w : workloads) {
    for (const std::string& dtype : o.dtypes) {
      Job job{w, workload_spec(w, parse_float_dtype(dtype)), false, {}};
      if (scale) {
        const support::ProblemSpec scaled = scale_to_flops(job.spec, o.target_flops);
        job.scaled = scaled.Sq != job.spec.Sq || scaled.Hq != job.spec.Hq;
        job.spec = scaled;
      }
      job.backends = expand_backends(requested, job.spec, device);
      jobs.push_back(std::move(job));
    }
  }
  return jobs;
}

}  // namespace attend::cli
