// The flags that describe one attention problem (explain, run) and their lowering to a
// support::ProblemSpec. Syntax and what the CLI itself needs are checked here (UsageError);
// whether the problem is valid attention is left to the library, which says why.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "support/host_problem.hpp"

namespace attend::cli {

struct ProblemFlags {
  std::string workload;
  std::int64_t batch = 1, hq = 8, hkv = 0, sq = 512, sk = 0, head_dim = 64, dv = 0;
  std::string dtype = "bf16";
  std::string layout = "bshd";
  bool causal = false;
  std::string align = "top-left";
  std::string window;  // "L,R"
  double softcap = 0.0;
  std::string mask = "none";
  std::string mask_shape;  // "1,1,Sq,Sk"
  bool key_padding = false;
  double dropout = 0.0;
  bool lse = false;
  std::string varlen;  // "100,0,37" or "100/80,0/5"
  std::uint64_t seed = 1;
  bool strided = false;
  std::string inputs = "normal";

  const CLI::App* app = nullptr;  // to tell flags given on the command line from defaults
};

// Adds the problem flags to a subcommand, in their own help group.
void add_problem_flags(CLI::App& app, ProblemFlags& flags);

// Validates the flags and builds the spec. Throws UsageError.
support::ProblemSpec to_spec(const ProblemFlags& flags);

// "bf16 B1 Hq24 ... (flux)" plus the FLOP count.
std::string problem_line(const support::ProblemSpec& spec, const std::string& workload);

}  // namespace attend::cli
