// Dispatch overhead of attend::attention: resolving the call, selecting a backend and running
// the capability checks, with the kernel taken out by a registered backend whose run() does
// nothing. Target: <= 1 microsecond per call. explain() is timed too, for information: it builds
// every backend's reasons and is not on the hot path.
#include <benchmark/benchmark.h>

#include <memory>
#include <optional>

#include "attend/attend.hpp"
#include "support/host_problem.hpp"

namespace {

// Accepts everything the small problems below need, ranks above every built-in backend so that
// `auto` takes it first, and does no work.
class NoopBackend final : public attend::Backend {
 public:
  NoopBackend() {
    using attend::DType;
    using attend::Layout;
    caps_.device = attend::DeviceKind::cpu;
    caps_.dtypes = {DType::f32, DType::f16, DType::bf16, DType::f64};
    caps_.layouts = {Layout::BSHD, Layout::BHSD, Layout::THD};
    caps_.different_v_head_dim = true;
    caps_.bool_mask = caps_.additive_mask = caps_.key_padding_mask = true;
    caps_.mask_with_causal = true;
    caps_.causal_top_left = caps_.causal_bottom_right = true;
    caps_.window = caps_.softcap = caps_.gqa = caps_.dropout = caps_.lse = true;
  }
  std::string_view id() const noexcept override { return "noop"; }
  std::string_view family() const noexcept override { return "test"; }
  std::string_view description() const noexcept override { return "does nothing (benchmark)"; }
  const attend::Capabilities& capabilities() const noexcept override { return caps_; }
  attend::Availability availability() const override { return {1000000, "benchmark stub"}; }
  void run(const attend::Problem& problem) const override { benchmark::DoNotOptimize(&problem); }

 private:
  attend::Capabilities caps_;
};

// A problem and its output buffers, alive for the whole program.
struct Fixture {
  attend::support::HostProblem host;
  attend::support::Output out;
  attend::Params params;

  explicit Fixture(const attend::support::ProblemSpec& spec)
      : host(spec), out(host.make_output()), params(host.params(out)) {}
};

attend::support::ProblemSpec plain_spec() {
  attend::support::ProblemSpec s;
  s.B = 2;
  s.Hq = s.Hkv = 8;
  s.Sq = s.Sk = 128;
  s.D = 64;
  s.dtype = attend::DType::bf16;
  return s;
}

// Every optional check engaged: GQA, a broadcast bool mask with causal, key padding, window,
// softcap, LSE.
attend::support::ProblemSpec featured_spec() {
  attend::support::ProblemSpec s = plain_spec();
  s.Hkv = 2;
  s.Sq = 64;
  s.causal = true;
  s.align = attend::Align::bottom_right;
  s.mask = attend::support::MaskKind::boolean;
  s.mask_shape = {s.B, 1, s.Sq, s.Sk};
  s.key_padding = true;
  s.window = {32, 0};
  s.softcap = 30.0;
  s.lse = true;
  return s;
}

Fixture& plain() {
  static Fixture f(plain_spec());
  return f;
}

Fixture& featured() {
  static Fixture f(featured_spec());
  return f;
}

void BM_AttentionAuto(benchmark::State& state, Fixture& (*fixture)()) {
  const attend::Params& p = fixture().params;
  for (auto _ : state) attend::attention(p);
}

void BM_AttentionExplicit(benchmark::State& state, Fixture& (*fixture)()) {
  const attend::Params& p = fixture().params;
  for (auto _ : state) attend::attention(p, "noop");
}

void BM_AttentionInScope(benchmark::State& state, Fixture& (*fixture)()) {
  const attend::Params& p = fixture().params;
  attend::BackendScope scope("noop");
  for (auto _ : state) attend::attention(p);
}

// A scope per call, as a layer-by-layer `with attention_backend(...)` would do.
void BM_ScopePerCall(benchmark::State& state) {
  const attend::Params& p = plain().params;
  for (auto _ : state) {
    attend::BackendScope scope("noop");
    attend::attention(p);
  }
}

void BM_Explain(benchmark::State& state, Fixture& (*fixture)()) {
  const attend::Params& p = fixture().params;
  for (auto _ : state) benchmark::DoNotOptimize(attend::explain(p));
}

void configure(benchmark::internal::Benchmark* b) {
  b->Repetitions(5)->ReportAggregatesOnly(true)->Unit(benchmark::kNanosecond);
}

}  // namespace

BENCHMARK_CAPTURE(BM_AttentionAuto, plain, plain)->Apply(configure);
BENCHMARK_CAPTURE(BM_AttentionExplicit, plain, plain)->Apply(configure);
BENCHMARK_CAPTURE(BM_AttentionInScope, plain, plain)->Apply(configure);
BENCHMARK(BM_ScopePerCall)->Apply(configure);
BENCHMARK_CAPTURE(BM_AttentionAuto, featured, featured)->Apply(configure);
BENCHMARK_CAPTURE(BM_AttentionExplicit, featured, featured)->Apply(configure);
BENCHMARK_CAPTURE(BM_AttentionInScope, featured, featured)->Apply(configure);
BENCHMARK_CAPTURE(BM_Explain, plain, plain)->Apply(configure);
BENCHMARK_CAPTURE(BM_Explain, featured, featured)->Apply(configure);

int main(int argc, char** argv) {
  // The stub must be registered before the first call: the registry snapshot is then stable.
  attend::register_backend(std::make_shared<NoopBackend>());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
