#include "results_json.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace attend::cli {

std::string results_to_json(const ResultsFile& file) {
  using Json = nlohmann::ordered_json;  // keeps the schema's key order in the file
  Json rows = Json::array();
  for (const ResultRow& r : file.results) {
    Json row;
    row["workload"] = r.workload;
    row["backend"] = r.backend;
    row["dtype"] = r.dtype;
    row["B"] = r.B;
    row["Hq"] = r.Hq;
    row["Hkv"] = r.Hkv;
    row["Sq"] = r.Sq;
    row["Sk"] = r.Sk;
    row["D"] = r.D;
    row["causal"] = r.causal;
    row["median_ms"] = r.median_ms;
    row["tflops"] = r.tflops;
    row["rel_err"] = r.rel_err ? Json(*r.rel_err) : Json(nullptr);
    rows.push_back(std::move(row));
  }
  Json doc;
  doc["gpu"] = file.gpu;
  doc["date"] = file.date;
  doc["commit"] = file.commit;
  doc["results"] = std::move(rows);
  if (file.ceiling) {
    doc["ceiling"] = {{"what", file.ceiling->what}, {"gflops", file.ceiling->gflops}};
  }
  return doc.dump(2) + "\n";
}

void write_results(const ResultsFile& file, const std::string& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot open '" + path + "' for writing");
  out << results_to_json(file);
  out.close();
  if (!out) throw std::runtime_error("failed writing '" + path + "'");
}

}  // namespace attend::cli
