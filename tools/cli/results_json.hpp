// The results file of DESIGN §7, one schema for every run so that any two compare:
// {"gpu", "date", "commit", "results": [...]}, plus an optional "ceiling" for CPU runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gemm_ceiling.hpp"

namespace attend::cli {

struct ResultRow {
  std::string workload;
  std::string backend;  // attend id, or a peer's name (torch.flash, ...)
  std::string dtype;
  std::int64_t B = 0, Hq = 0, Hkv = 0, Sq = 0, Sk = 0, D = 0;
  bool causal = false;
  double median_ms = 0.0;
  double tflops = 0.0;
  std::optional<double> rel_err;  // null when not measured
};

struct ResultsFile {
  std::string gpu;  // the device; "cpu:<model name>" for CPU runs
  std::string date;
  std::string commit;
  std::vector<ResultRow> results;
  std::optional<GemmCeiling> ceiling;
};

std::string results_to_json(const ResultsFile& file);
// Writes the file (pretty-printed, trailing newline); throws std::runtime_error on failure.
void write_results(const ResultsFile& file, const std::string& path);

}  // namespace attend::cli
