// The FlexSpec gallery: causal, sliding window, documents, prefix-LM, ALiBi, tanh softcap and a
// relative-position bias table, each written once as device source (for `flex` on the GPU) and
// as C++ callables (for `cpu_flash`), and each checked against the reference backends given the
// equivalent dense additive mask: `math` on the CPU, `cuda_math` on the GPU when `flex` can run.
//
//   flex_masks [tokens] [heads]      (default 200 4); exits 1 if a result is off
#include <algorithm>
#include <attend/attend.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#if ATTEND_EXAMPLE_CUDA
#include <cuda_runtime.h>
#endif

namespace {

constexpr std::int64_t kBatch = 2, kHeadDim = 64;
constexpr float kHidden = -std::numeric_limits<float>::infinity();

// One pattern: the spec, the dense bias it equals (kHidden where masked) and the Params the
// reference needs besides the bias (softcap is math's own option).
struct Pattern {
  std::string name;
  attend::FlexSpec spec;
  std::function<float(std::int64_t b, std::int64_t h, std::int64_t q, std::int64_t kv)> bias;
  double softcap = 0.0;
};

// The tensors the sources read, on the host; the GPU gets copies with the same names.
struct Tables {
  std::vector<std::int32_t> doc;     // [S]: which document a token belongs to
  std::vector<std::int32_t> prefix;  // [B]: each sequence's bidirectional prefix length
  std::vector<float> slopes;         // [H]: ALiBi slopes
  std::vector<float> rel;            // [H, 2S-1]: bias by kv - q + S - 1
};

Tables make_tables(std::int64_t S, std::int64_t H) {
  Tables t;
  const std::int64_t doc_lengths[] = {3, 1, 4, 1, 5};  // of 14: uneven documents
  for (std::int64_t d = 0, start = 0; d < 5; ++d) {
    const std::int64_t end = d == 4 ? S : start + S * doc_lengths[d] / 14;
    for (std::int64_t i = start; i < end; ++i) t.doc.push_back(static_cast<std::int32_t>(d));
    start = end;
  }
  for (std::int64_t b = 0; b < kBatch; ++b)
    t.prefix.push_back(static_cast<std::int32_t>(S / (3 + b)));
  for (std::int64_t h = 0; h < H; ++h) t.slopes.push_back(std::exp2(-8.0f * (h + 1) / H));
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  t.rel.resize(static_cast<std::size_t>(H * (2 * S - 1)));
  for (float& x : t.rel) x = normal(rng);
  return t;
}

std::vector<Pattern> make_patterns(const Tables& t, std::int64_t S) {
  using I = std::int64_t;
  const I window = S / 8;
  const std::string table_center = std::to_string(S - 1);
  std::vector<Pattern> out;

  Pattern causal{"causal", {}, [](I, I, I q, I kv) { return kv <= q ? 0.0f : kHidden; }};
  causal.spec.mask_mod = "kv_idx <= q_idx";
  causal.spec.mask_fn = [](I, I, I q, I kv) { return kv <= q; };
  out.push_back(causal);

  Pattern sliding{"sliding window", {}, [=](I, I, I q, I kv) {
                    return kv <= q && q - kv <= window ? 0.0f : kHidden;
                  }};
  sliding.spec.mask_mod = "kv_idx <= q_idx && q_idx - kv_idx <= " + std::to_string(window);
  sliding.spec.mask_fn = [=](I, I, I q, I kv) { return kv <= q && q - kv <= window; };
  out.push_back(sliding);

  Pattern documents{
      "documents", {}, [&t](I, I, I q, I kv) { return t.doc[q] == t.doc[kv] ? 0.0f : kHidden; }};
  documents.spec.mask_mod = "doc[q_idx] == doc[kv_idx]";
  documents.spec.mask_fn = [&t](I, I, I q, I kv) { return t.doc[q] == t.doc[kv]; };
  out.push_back(documents);

  Pattern prefix_lm{"prefix-LM", {}, [&t](I b, I, I q, I kv) {
                      return kv < t.prefix[b] || kv <= q ? 0.0f : kHidden;
                    }};
  prefix_lm.spec.mask_mod = "kv_idx < prefix[b] || kv_idx <= q_idx";
  prefix_lm.spec.mask_fn = [&t](I b, I, I q, I kv) { return kv < t.prefix[b] || kv <= q; };
  out.push_back(prefix_lm);

  Pattern alibi{"ALiBi", {}, [&t](I, I h, I q, I kv) {
                  return kv <= q ? -t.slopes[h] * static_cast<float>(q - kv) : kHidden;
                }};
  alibi.spec.score_mod = "score - slopes[h] * float(q_idx - kv_idx)";
  alibi.spec.mask_mod = "kv_idx <= q_idx";
  alibi.spec.score_fn = [&t](float s, I, I h, I q, I kv) {
    return s - t.slopes[h] * static_cast<float>(q - kv);
  };
  alibi.spec.mask_fn = causal.spec.mask_fn;
  out.push_back(alibi);

  Pattern softcap{"tanh softcap 5", {}, [](I, I, I, I) { return 0.0f; }, 5.0};
  softcap.spec.score_mod = "5.0f * tanhf(score / 5.0f)";
  softcap.spec.score_fn = [](float s, I, I, I, I) { return 5.0f * std::tanh(s / 5.0f); };
  out.push_back(softcap);

  Pattern relative{"relative bias table", {}, [&t, S](I, I h, I q, I kv) {
                     return t.rel[static_cast<std::size_t>(h * (2 * S - 1) + kv - q + S - 1)];
                   }};
  relative.spec.score_mod = "score + rel(h, kv_idx - q_idx + " + table_center + ")";
  relative.spec.score_fn = [&t, S](float s, I, I h, I q, I kv) {
    return s + t.rel[static_cast<std::size_t>(h * (2 * S - 1) + kv - q + S - 1)];
  };
  out.push_back(relative);
  return out;
}

std::vector<float> dense_bias(const Pattern& p, std::int64_t H, std::int64_t S) {
  std::vector<float> bias(static_cast<std::size_t>(kBatch * H * S * S));
  std::size_t i = 0;
  for (std::int64_t b = 0; b < kBatch; ++b)
    for (std::int64_t h = 0; h < H; ++h)
      for (std::int64_t q = 0; q < S; ++q)
        for (std::int64_t kv = 0; kv < S; ++kv) bias[i++] = p.bias(b, h, q, kv);
  return bias;
}

double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    diff += std::isfinite(got[i]) ? d * d : 1e30;  // a NaN or inf fails the check
    norm += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// `reference` with the dense bias (and the pattern's softcap) into `want`, then `backend` with
// the spec into `out`, over the same q, k, v; returns the second call's milliseconds, `wait`
// included (the GPU's synchronisation).
double reference_then_flex(attend::Params params, Pattern& p, const attend::TensorView& bias,
                           const attend::TensorView& want, const attend::TensorView& out,
                           const char* reference, const char* backend, void (*wait)()) {
  params.out = want;
  params.attn_mask = bias;
  params.softcap = p.softcap;
  attend::attention(params, reference);
  params.out = out;
  params.attn_mask = {};
  params.softcap = 0.0;
  params.flex = &p.spec;
  const auto start = std::chrono::steady_clock::now();
  attend::attention(params, backend);  // on the GPU the first call compiles (or loads) the kernel
  if (wait != nullptr) wait();
  return milliseconds_since(start);
}

// cpu_flash with the callables against math with the dense bias, fp32.
double check_on_cpu(Pattern& p, const std::vector<float>& q, const std::vector<float>& k,
                    const std::vector<float>& v, std::int64_t H, std::int64_t S, double* ms) {
  using attend::view;
  std::vector<float> out(q.size()), want(q.size());
  std::vector<float> bias = dense_bias(p, H, S);
  const auto shape = {kBatch, S, H, kHeadDim};
  attend::Params params;
  params.q = view(const_cast<float*>(q.data()), attend::f32, attend::cpu, shape);
  params.k = view(const_cast<float*>(k.data()), attend::f32, attend::cpu, shape);
  params.v = view(const_cast<float*>(v.data()), attend::f32, attend::cpu, shape);
  *ms = reference_then_flex(
      params, p, view(bias.data(), attend::f32, attend::cpu, {kBatch, H, S, S}),
      view(want.data(), attend::f32, attend::cpu, shape),
      view(out.data(), attend::f32, attend::cpu, shape), "math", "cpu_flash", nullptr);
  return relative_error(out, want);
}

#if ATTEND_EXAMPLE_CUDA

void cuda_check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  std::fprintf(stderr, "flex_masks: %s: %s\n", what, cudaGetErrorString(e));
  std::exit(2);
}

// A device copy of host data, freed at scope exit.
struct DeviceCopy {
  void* data = nullptr;
  template <class T>
  explicit DeviceCopy(const std::vector<T>& host) {
    cuda_check(cudaMalloc(&data, std::max<std::size_t>(1, host.size() * sizeof(T))), "cudaMalloc");
    cuda_check(cudaMemcpy(data, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
               "cudaMemcpy");
  }
  DeviceCopy(const DeviceCopy&) = delete;
  DeviceCopy& operator=(const DeviceCopy&) = delete;
  ~DeviceCopy() { cudaFree(data); }
};

std::uint16_t to_bf16(float x) {  // round to nearest even; inputs here are finite
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return static_cast<std::uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

float from_bf16(std::uint16_t x) {
  const std::uint32_t bits = static_cast<std::uint32_t>(x) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

std::vector<std::uint16_t> to_bf16(const std::vector<float>& x) {
  std::vector<std::uint16_t> out(x.size());
  std::transform(x.begin(), x.end(), out.begin(), [](float f) { return to_bf16(f); });
  return out;
}

std::vector<float> bf16_output(const attend::TensorView& out, std::size_t n) {
  std::vector<std::uint16_t> raw(n);
  cuda_check(cudaMemcpy(raw.data(), out.data, n * 2, cudaMemcpyDeviceToHost), "cudaMemcpy");
  std::vector<float> f(n);
  std::transform(raw.begin(), raw.end(), f.begin(), from_bf16);
  return f;
}

bool flex_runs_here() {
  for (const attend::BackendInfo& b : attend::list_backends()) {
    if (b.id == "flex") return b.availability.score > 0;
  }
  return false;
}

// flex with the device source against cuda_math with the dense bias, bf16 inputs.
double check_on_gpu(Pattern& p, const Tables& t, const std::vector<float>& q,
                    const std::vector<float>& k, const std::vector<float>& v, std::int64_t H,
                    std::int64_t S, double* ms) {
  using attend::view;
  const attend::Device gpu = attend::Device::cuda(0);
  DeviceCopy dq(to_bf16(q)), dk(to_bf16(k)), dv(to_bf16(v)), dout(to_bf16(q)), dwant(to_bf16(q));
  DeviceCopy dbias(dense_bias(p, H, S)), ddoc(t.doc), dprefix(t.prefix), dslopes(t.slopes),
      drel(t.rel);
  p.spec.tensors = {{"doc", view(ddoc.data, attend::i32, gpu, {S})},
                    {"prefix", view(dprefix.data, attend::i32, gpu, {kBatch})},
                    {"slopes", view(dslopes.data, attend::f32, gpu, {H})},
                    {"rel", view(drel.data, attend::f32, gpu, {H, 2 * S - 1})}};
  const auto shape = {kBatch, S, H, kHeadDim};
  attend::Params params;
  params.q = view(dq.data, attend::bf16, gpu, shape);
  params.k = view(dk.data, attend::bf16, gpu, shape);
  params.v = view(dv.data, attend::bf16, gpu, shape);
  const attend::TensorView out = view(dout.data, attend::bf16, gpu, shape),
                           want = view(dwant.data, attend::bf16, gpu, shape);
  *ms = reference_then_flex(params, p, view(dbias.data, attend::f32, gpu, {kBatch, H, S, S}), want,
                            out, "cuda_math", "flex",
                            [] { cuda_check(cudaDeviceSynchronize(), "flex"); });
  const double error = relative_error(bf16_output(out, q.size()), bf16_output(want, q.size()));
  p.spec.tensors.clear();  // the device copies end here
  return error;
}

#endif

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t S = argc > 1 ? std::atoll(argv[1]) : 200;
  const std::int64_t H = argc > 2 ? std::atoll(argv[2]) : 4;
  if (S < 1 || H < 1) {
    std::fprintf(stderr, "usage: flex_masks [tokens >= 1] [heads >= 1]\n");
    return 2;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const auto random = [&] {
    std::vector<float> x(static_cast<std::size_t>(kBatch * S * H * kHeadDim));
    for (float& e : x) e = normal(rng);
    return x;
  };
  const std::vector<float> q = random(), k = random(), v = random();
  const Tables tables = make_tables(S, H);
  std::vector<Pattern> patterns = make_patterns(tables, S);
  bool gpu = false;
#if ATTEND_EXAMPLE_CUDA
  gpu = flex_runs_here();
#endif
  std::printf("B%lld H%lld S%lld D%lld; CPU: cpu_flash callables vs math (fp32)%s\n",
              static_cast<long long>(kBatch), static_cast<long long>(H), static_cast<long long>(S),
              static_cast<long long>(kHeadDim),
              gpu ? "; GPU: flex source vs cuda_math (bf16)" : "; GPU: flex cannot run here");
  std::printf("%-20s %12s %9s %12s %9s\n", "pattern", "cpu rel err", "cpu ms", "gpu rel err",
              "gpu ms");
  bool ok = true;
  for (Pattern& p : patterns) {
    double cpu_ms = 0, gpu_ms = 0, gpu_error = -1;
    const double cpu_error = check_on_cpu(p, q, k, v, H, S, &cpu_ms);
    ok &= cpu_error <= 1e-5;
#if ATTEND_EXAMPLE_CUDA
    if (gpu) {
      gpu_error = check_on_gpu(p, tables, q, k, v, H, S, &gpu_ms);
      ok &= gpu_error <= 1e-2;
    }
#endif
    std::printf("%-20s %12.2e %9.2f", p.name.c_str(), cpu_error, cpu_ms);
    if (gpu_error >= 0) std::printf(" %12.2e %9.2f", gpu_error, gpu_ms);
    std::printf("\n");
  }
  if (!ok) std::fprintf(stderr, "flex_masks: a result is off (cpu > 1e-5 or gpu > 1e-2)\n");
  return ok ? 0 : 1;
}
