// Tile-shape tuning for the flash kernels: times alternative TileConfigs of one head dim on a
// named workload, side by side with the shipped one, after checking each against it. A
// developer tool (not installed): its output is what src/backends/flash/NOTES.md records.
//   flash_tune [workload] [repeats]        e.g. flash_tune flux 30
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backends/flash/kernels.hpp"
#include "backends/flash/launch_fwd.cuh"
#include "support/workloads.hpp"

namespace {

using namespace attend;
using namespace attend::flash;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "flash_tune: %s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

__global__ void fill_random(__nv_bfloat16* x, std::int64_t n, std::uint32_t seed) {
  for (std::int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    std::uint32_t h = static_cast<std::uint32_t>(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    x[i] = __float2bfloat16((h & 0xffff) / 32768.0f - 1.0f);
  }
}

struct Buffers {
  __nv_bfloat16 *q, *k, *v, *out;
};

FlashParams params_for(const support::Workload& w, const Buffers& b) {
  FlashParams p;
  p.q = b.q, p.k = b.k, p.v = b.v, p.out = b.out;
  p.q_ss = w.Hq * w.D, p.q_sh = w.D, p.q_sb = w.S * p.q_ss;
  p.k_ss = w.Hkv * w.D, p.k_sh = w.D, p.k_sb = w.S * p.k_ss;
  p.v_ss = p.k_ss, p.v_sh = p.k_sh, p.v_sb = p.k_sb;
  p.o_ss = p.q_ss, p.o_sh = p.q_sh, p.o_sb = p.q_sb;
  p.B = static_cast<int>(w.B), p.Hq = static_cast<int>(w.Hq), p.Hkv = static_cast<int>(w.Hkv);
  p.group = p.Hq / p.Hkv;
  p.Sq = p.Sk = static_cast<int>(w.S);
  p.D = static_cast<int>(w.D);
  p.score_scale = 1.4426950408889634f / std::sqrt(static_cast<float>(w.D));
  if (w.causal) p.window_right = 0;
  return p;
}

double workload_flops(const support::Workload& w) {
  return 4.0 * w.B * w.Hq * w.S * w.S * w.D * (w.causal ? 0.5 : 1.0);
}

// Median of `repeats` timed calls of `launch` (after three untimed ones), in ms, by CUDA events.
template <class Launch>
double median_ms(Launch&& launch, int repeats) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "event");
  check(cudaEventCreate(&stop), "event");
  std::vector<float> ms;
  for (int i = 0; i < repeats + 3; ++i) {
    check(cudaEventRecord(start), "record");
    launch();
    check(cudaEventRecord(stop), "record");
    check(cudaEventSynchronize(stop), "sync");
    float t = 0;
    check(cudaEventElapsedTime(&t, start, stop), "elapsed");
    if (i >= 3) ms.push_back(t);
  }
  check(cudaEventDestroy(start), "event");
  check(cudaEventDestroy(stop), "event");
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

template <int kD, class C>
void trial(const char* name, const support::Workload& w, const Buffers& b, __nv_bfloat16* ref,
           int repeats) {
  const FlashParams p = params_for(w, b);
  const std::int64_t n = w.B * w.S * w.Hq * w.D;
  check(cudaMemset(b.out, 0xff, n * 2), "poison");
  launch_fwd_tiles<__nv_bfloat16, kD, C>(p, Variant::plain, nullptr);
  check(cudaDeviceSynchronize(), name);
  // Compare with the shipped tiles' output (bitwise equality is not expected: the key tiles
  // sum in a different order).
  std::vector<__nv_bfloat16> got(n), want(n);
  check(cudaMemcpy(got.data(), b.out, n * 2, cudaMemcpyDeviceToHost), "copy");
  check(cudaMemcpy(want.data(), ref, n * 2, cudaMemcpyDeviceToHost), "copy");
  double d2 = 0, r2 = 0;
  std::int64_t nan = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double a = __bfloat162float(got[i]), r = __bfloat162float(want[i]);
    if (std::isnan(a)) ++nan;
    d2 += (a - r) * (a - r);
    r2 += r * r;
  }
  const double median = median_ms(
      [&] { launch_fwd_tiles<__nv_bfloat16, kD, C>(p, Variant::plain, nullptr); }, repeats);
  std::printf("%-34s %9.3f ms %8.1f TFLOP/s   vs shipped rel_l2 %.2e nan %lld\n", name, median,
              workload_flops(w) / median / 1e9, std::sqrt(d2 / r2), static_cast<long long>(nan));
}

// The shipped tiles with the keys split `splits` ways and merged: what split-KV costs and what
// it buys when the blocks fill the last wave of the GPU poorly.
template <int kD>
void split_trial(int splits, const support::Workload& w, const Buffers& b, int repeats) {
  FlashParams p = params_for(w, b);
  p.num_splits = splits;
  const std::int64_t rows = static_cast<std::int64_t>(splits) * w.B * w.Hq * w.S;
  check(cudaMalloc(&p.o_partial, rows * w.D * 4), "malloc");
  check(cudaMalloc(&p.lse_partial, rows * 4), "malloc");
  const double median = median_ms(
      [&] {
        launch_fwd_tiles<__nv_bfloat16, kD>(p, Variant::plain, nullptr);
        launch_combine<__nv_bfloat16>(p, nullptr);
      },
      repeats);
  std::printf("shipped, keys split %d ways + combine %9.3f ms %8.1f TFLOP/s\n", splits, median,
              workload_flops(w) / median / 1e9);
  check(cudaFree(p.o_partial), "free");
  check(cudaFree(p.lse_partial), "free");
}

template <int kD>
void run_all(const support::Workload& w, const Buffers& b, __nv_bfloat16* ref, int repeats);

template <>
void run_all<128>(const support::Workload& w, const Buffers& b, __nv_bfloat16* ref, int repeats) {
  trial<128, TileConfig<128>>("shipped TileConfig<128>", w, b, ref, repeats);
  trial<128, Tiles<128, 32, 4, 2>>("128x32, 4 warps", w, b, ref, repeats);
  trial<128, Tiles<64, 64, 4, 2>>("64x64, 4 warps", w, b, ref, repeats);
  trial<128, Tiles<128, 128, 8, 1>>("128x128, 8 warps", w, b, ref, repeats);
  for (int splits : {2, 3}) split_trial<128>(splits, w, b, repeats);
}

template <>
void run_all<64>(const support::Workload& w, const Buffers& b, __nv_bfloat16* ref, int repeats) {
  trial<64, TileConfig<64>>("shipped TileConfig<64>", w, b, ref, repeats);
  trial<64, Tiles<128, 64, 4, 2>>("128x64, 4 warps", w, b, ref, repeats);
  trial<64, Tiles<128, 128, 8, 1>>("128x128, 8 warps", w, b, ref, repeats);
  for (int splits : {2, 3}) split_trial<64>(splits, w, b, repeats);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "flux";
  const int repeats = argc > 2 ? std::max(1, std::atoi(argv[2])) : 30;
  const auto w = support::find_workload(name);
  if (!w || (w->D != 64 && w->D != 128)) {
    std::fprintf(stderr, "flash_tune: workload with D 64 or 128 expected (flux, sd3, hd64, ...)\n");
    return 2;
  }
  const std::int64_t nq = w->B * w->S * w->Hq * w->D, nk = w->B * w->S * w->Hkv * w->D;
  Buffers b{};
  __nv_bfloat16* ref = nullptr;
  check(cudaMalloc(&b.q, nq * 2), "malloc");
  check(cudaMalloc(&b.k, nk * 2), "malloc");
  check(cudaMalloc(&b.v, nk * 2), "malloc");
  check(cudaMalloc(&b.out, nq * 2), "malloc");
  check(cudaMalloc(&ref, nq * 2), "malloc");
  fill_random<<<1024, 256>>>(b.q, nq, 1);
  fill_random<<<1024, 256>>>(b.k, nk, 2);
  fill_random<<<1024, 256>>>(b.v, nk, 3);
  FlashParams p = params_for(*w, b);
  p.out = ref;
  if (w->D == 128)
    launch_fwd_tiles<__nv_bfloat16, 128>(p, Variant::plain, nullptr);
  else
    launch_fwd_tiles<__nv_bfloat16, 64>(p, Variant::plain, nullptr);
  check(cudaDeviceSynchronize(), "reference run");
  std::printf("flash_tune %s: B%lld Hq%lld Hkv%lld S%lld D%lld%s, bf16, median of %d\n",
              name.c_str(), (long long)w->B, (long long)w->Hq, (long long)w->Hkv, (long long)w->S,
              (long long)w->D, w->causal ? " causal" : "", repeats);
  if (w->D == 128)
    run_all<128>(*w, b, ref, repeats);
  else
    run_all<64>(*w, b, ref, repeats);
  return 0;
}
