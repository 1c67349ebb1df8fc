// What `attend bench` runs: its options, and the named workloads turned into problems (scaled to
// a FLOP budget on a CPU, as named on a GPU), each with the backends asked for.
#pragma once

#include <string>
#include <vector>

#include "device_flag.hpp"
#include "support/host_problem.hpp"
#include "support/workloads.hpp"
#include "workload_scaling.hpp"

namespace attend::cli {

struct BenchOptions {
  std::vector<std::string> workloads;
  std::vector<std::string> backends;
  std::vector<std::string> dtypes{"bf16"};
  std::string device = "auto";
  bool full = false;
  double target_flops = kBenchFlopTarget;
  bool target_given = false;  // --target-flops on the command line (scales GPU runs too)
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

// Validates the workload and backend names (UsageError) and expands "all" to the available
// backends whose tensors live on `device`: on a CPU `math` only for small problems, on a GPU
// no CPU backend at all (said on stderr).
std::vector<Job> plan(const BenchOptions& o, RunDevice device);

}  // namespace attend::cli
