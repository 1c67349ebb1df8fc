// Backend `cpu_flash`: FlashAttention forward on the CPU. Registration, capabilities as data,
// availability (which ISA the kernels run with here), and the limits data cannot express.
#include "attend/backend.hpp"

#include <cstdint>
#include <limits>
#include <new>
#include <string>

#include "attend/problem.hpp"
#include "backends/builtin.hpp"
#include "backends/cpu_flash/driver.hpp"
#include "backends/cpu_flash/isa.hpp"
#include "core/text.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace attend::backends {
namespace {

class CpuFlashBackend final : public Backend {
 public:
  CpuFlashBackend() {
    caps_.device = DeviceKind::cpu;
    caps_.dtypes = {DType::f32, DType::bf16, DType::f16};
    caps_.layouts = {Layout::BSHD, Layout::BHSD, Layout::THD};
    caps_.head_dim_min = 1;
    caps_.head_dim_max = 512;
    caps_.different_v_head_dim = true;
    caps_.bool_mask = caps_.additive_mask = caps_.key_padding_mask = true;
    caps_.mask_with_causal = true;
    caps_.causal_top_left = caps_.causal_bottom_right = true;
    caps_.window = caps_.softcap = caps_.gqa = caps_.dropout = caps_.lse = true;
    caps_.deterministic = true;  // one thread per q tile, kv tiles in a fixed order
    caps_.backward = false;
    caps_.any_strides = true;
    caps_.flex_callables = true;  // score_fn / mask_fn, applied to each tile of scores
  }

  std::string_view id() const noexcept override { return "cpu_flash"; }
  std::string_view family() const noexcept override { return "flash"; }
  std::string_view description() const noexcept override {
    return "CPU FlashAttention: tiled online softmax, OpenMP threads, AVX-512/AVX2 "
           "micro-kernels (vdpbf16ps for bf16), fp32 accumulation";
  }
  const Capabilities& capabilities() const noexcept override { return caps_; }

  Availability availability() const override {
    std::string note;
    const cpu_flash::Isa isa = cpu_flash::selected_isa(&note);
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    std::string reason = std::string(cpu_flash::isa_name(isa)) + ", " + std::to_string(threads) +
                         (threads == 1 ? " thread" : " threads");
    if (!note.empty()) reason += "; " + note;
    return {isa == cpu_flash::Isa::generic ? 20 : 60, reason};
  }

  void check(const Problem& p, ReasonSink& sink) const override {
    // Key and query indices inside a sequence are held in int32 by the kernels.
    constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
    if (p.Sk > kMax || p.Sq > kMax) {
      sink.refuse(Code::overflow, "sequence length", "<= " + std::to_string(kMax),
                  std::to_string(p.Sq > kMax ? p.Sq : p.Sk));
    }
    if (p.flex != nullptr) check_flex(p, sink);
  }

  void run(const Problem& problem) const override {
    cpu_flash::run(problem);
  }

 private:
  // What is not combined with flex callables: a softcap is one line of score_fn (and the order of
  // the two would be ambiguous); dropout is a training feature, and flex here is forward only.
  static void check_flex(const Problem& p, ReasonSink& sink) {
    if (p.softcap > 0) {
      sink.refuse(Code::flex, "softcap with a flex spec",
                  "softcap 0: write cap * tanh(score / cap) in score_fn",
                  core::str("softcap ", p.softcap));
    }
    if (p.dropout_p > 0) {
      sink.refuse(Code::flex, "dropout with a flex spec", "dropout_p 0",
                  core::str("dropout_p ", p.dropout_p));
    }
  }

  Capabilities caps_;
};

}  // namespace

std::shared_ptr<const Backend> make_cpu_flash() {
  return std::make_shared<CpuFlashBackend>();
}

}  // namespace attend::backends
