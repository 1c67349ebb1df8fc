// flex on the FlexAttention workloads (B1 H24 S8192 D128 bf16): causal, a causal sliding
// window of 1024 keys and 8 packed documents, each with its block mask built once (as PyTorch's
// create_block_mask is), and the dense problem on flash3 for comparison; CUDA events, median of
// 30 runs over rotated inputs, rel_err against cuda_math with the equivalent dense mask. Then
// the compile path on a fresh cache folder: cold compile, a disk hit, and the host time of a
// call that finds its module in memory beside flash3's.
//   bench_flex [results.json]
#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "attend/attend.hpp"
#include "backends/flex/compiler.hpp"
#include "flex_masks.hpp"
#include "support/device_problem.hpp"
#include "support/host_problem.hpp"

namespace {

using namespace attend;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void sync() {
  if (cudaDeviceSynchronize() != cudaSuccess) throw std::runtime_error("CUDA error");
}

struct Row {
  std::string workload, backend;
  double ms, tflops, rel_err;
};

// Median GPU time of `runs` calls, each on the next rotated input copy.
template <class Call>
double median_gpu_ms(support::DeviceProblem& dev, Call call, int runs = 30) {
  for (int i = 0; i < 3; ++i) call(dev.rotated(i % dev.rotations()));
  std::vector<cudaEvent_t> ev(2 * static_cast<std::size_t>(runs));
  for (cudaEvent_t& e : ev) cudaEventCreate(&e);
  for (int i = 0; i < runs; ++i) {
    const Params p = dev.rotated(i % dev.rotations());
    cudaEventRecord(ev[2 * i]);
    call(p);
    cudaEventRecord(ev[2 * i + 1]);
  }
  sync();
  std::vector<float> ms(static_cast<std::size_t>(runs));
  for (int i = 0; i < runs; ++i) cudaEventElapsedTime(&ms[i], ev[2 * i], ev[2 * i + 1]);
  for (cudaEvent_t& e : ev) cudaEventDestroy(e);
  std::nth_element(ms.begin(), ms.begin() + runs / 2, ms.end());
  return ms[static_cast<std::size_t>(runs / 2)];
}

Row run_workload(const std::string& mask) {
  constexpr std::int64_t S = 8192, H = 24, D = 128;
  support::ProblemSpec spec;
  spec.dtype = DType::bf16;
  spec.B = 1, spec.Hq = H, spec.Hkv = H, spec.Sq = S, spec.Sk = S, spec.D = D;
  const support::HostProblem host(spec);
  support::DeviceProblem dev(host);
  dev.make_rotations(4);

  const std::vector<int> doc = bench_flex::document_ids(S);
  std::vector<unsigned char> dense(static_cast<std::size_t>(S * S));
  double pairs = 0;
  for (std::int64_t q = 0; q < S; ++q)
    for (std::int64_t kv = 0; kv < S; ++kv) {
      const bool v = bench_flex::visible(mask, doc, q, kv);
      dense[static_cast<std::size_t>(q * S + kv)] = v;
      pairs += v;
    }
  void *doc_dev = nullptr, *mask_dev = nullptr;
  cudaMalloc(&doc_dev, doc.size() * sizeof(int));
  cudaMemcpy(doc_dev, doc.data(), doc.size() * sizeof(int), cudaMemcpyHostToDevice);
  cudaMalloc(&mask_dev, dense.size());
  cudaMemcpy(mask_dev, dense.data(), dense.size(), cudaMemcpyHostToDevice);

  Params ref = dev.params();
  if (!mask.empty()) ref.attn_mask = view(mask_dev, DType::boolean, Device::cuda(0), {S, S});
  attention(ref, "cuda_math");
  const support::Output want = dev.download();

  FlexSpec fs;
  fs.mask_mod = bench_flex::mask_mod(mask);
  fs.tensors = {{"doc", view(doc_dev, DType::i32, Device::cuda(0), {S})}};
  const std::string backend = mask.empty() ? "flash3" : "flex";
  if (!mask.empty()) {
    const auto t0 = Clock::now();
    fs.block_mask = flex_block_mask(fs, dev.params());
    sync();
    std::printf("  block mask of %s: %.2f ms (first call, module included); %lld of %lld tiles\n",
                mask.c_str(), ms_since(t0), static_cast<long long>(fs.block_mask->visited_tiles()),
                static_cast<long long>(fs.block_mask->query_tiles() * fs.block_mask->key_tiles()));
  }
  auto call = [&](Params p) {
    if (!mask.empty()) p.flex = &fs;
    attention(p, backend);
  };
  dev.poison_outputs();
  call(dev.params());
  const support::Comparison cmp = support::compare(host, dev.download(), want);
  const double ms = median_gpu_ms(dev, call);
  cudaFree(doc_dev);
  cudaFree(mask_dev);
  const std::string name = "flex-" + (mask.empty() ? std::string("dense") : mask);
  return {name, backend, ms, 4.0 * H * D * pairs / (ms * 1e-3) / 1e12, cmp.rel_l2};
}

// Host time per call over 31 batches of 200 (median), the queue drained between batches.
double host_us(const Params& p, const std::string& backend) {
  for (int i = 0; i < 20; ++i) attention(p, backend);
  sync();
  std::vector<double> us;
  for (int b = 0; b < 31; ++b) {
    const auto t0 = Clock::now();
    for (int i = 0; i < 200; ++i) attention(p, backend);
    us.push_back(ms_since(t0) * 1e3 / 200);
    sync();
  }
  std::nth_element(us.begin(), us.begin() + 15, us.end());
  return us[15];
}

void compile_path() {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("attend-flex-bench-" + std::to_string(::getpid()));
  setenv("ATTEND_CACHE_DIR", dir.c_str(), 1);
  support::ProblemSpec spec;
  spec.dtype = DType::bf16;
  spec.B = 1, spec.Hq = 2, spec.Hkv = 2, spec.Sq = 128, spec.Sk = 128, spec.D = 64;
  const support::HostProblem host(spec);
  support::DeviceProblem dev(host);
  FlexSpec f;
  f.score_mod = "score - 0.0625f * (q_idx - kv_idx)";
  f.mask_mod = "q_idx >= kv_idx";
  Params p = dev.params();
  p.flex = &f;
  auto t0 = Clock::now();
  attention(p, "flex");
  sync();
  const double cold = ms_since(t0);
  flex::forget_compiled_modules();
  t0 = Clock::now();
  attention(p, "flex");
  sync();
  const double disk = ms_since(t0);
  std::printf(
      "compile: cold %.0f ms (compile, load, block mask, run), disk hit %.1f ms (read, load, "
      "block mask, run)\n",
      cold, disk);
  f.block_mask = flex_block_mask(f, p);
  std::printf("host us/call, module in memory: flex %.2f (block mask given), flash3 %.2f\n",
              host_us(p, "flex"), host_us(dev.params(), "flash3"));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace

int main(int argc, char** argv) {
  if (!support::cuda_device_present()) {
    std::printf("no CUDA device: nothing to measure\n");
    return 0;
  }
  compile_path();
  std::vector<Row> rows;
  for (const char* mask : {"causal", "window", "document", ""}) {
    rows.push_back(run_workload(mask));
    const Row& r = rows.back();
    std::printf("%-14s %-7s %.3f ms  %.1f TFLOP/s  rel_err %.2e\n", r.workload.c_str(),
                r.backend.c_str(), r.ms, r.tflops, r.rel_err);
  }
  if (argc > 1) {
    cudaDeviceProp prop{};
    cudaGetDeviceProperties(&prop, 0);
    std::ofstream out(argv[1]);
    out << "{\"gpu\": \"" << prop.name << "\", \"date\": \"\", \"commit\": \"\", \"results\": [\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      const bool causal = r.workload == "flex-causal" || r.workload == "flex-window";
      char line[512];
      std::snprintf(line, sizeof line,
                    "  {\"workload\": \"%s\", \"backend\": \"%s\", \"dtype\": \"bf16\", \"B\": 1, "
                    "\"Hq\": 24, \"Hkv\": 24, \"Sq\": 8192, \"Sk\": 8192, \"D\": 128, \"causal\": "
                    "%s, \"median_ms\": %.4f, \"tflops\": %.2f, \"rel_err\": %.3e}%s\n",
                    r.workload.c_str(), r.backend.c_str(), causal ? "true" : "false", r.ms,
                    r.tflops, r.rel_err, i + 1 < rows.size() ? "," : "");
      out << line;
    }
    out << "]}\n";
  }
  return 0;
}
