// Backend `flex`: programmable attention on the GPU. A FlexSpec's score_mod and mask_mod, C++
// device source, become the hooks of flash3's Hopper kernel, compiled at run time with NVRTC and
// cached in memory and on disk; a block mask from the mask_mod lets the kernel skip empty key
// tiles and evaluate the mask only on partial ones. Also home of attend::flex_block_mask.
#include "attend/backend.hpp"

#include <cstdint>
#include <string>

#include "attend/flex.hpp"
#include "attend/problem.hpp"
#include "backends/builtin.hpp"
#include "backends/flash3/launch.hpp"
#include "backends/flash3/limits.hpp"
#include "backends/flex/compiler.hpp"
#include "backends/flex/launch.hpp"
#include "backends/head_dim_note.hpp"
#include "core/cuda_devices.hpp"
#include "core/resolve.hpp"
#include "core/text.hpp"

namespace attend::backends {
namespace {

using core::str;

Capabilities flex_capabilities() {
  Capabilities c;
  c.device = DeviceKind::cuda;
  c.min_sm = 90;
  c.max_sm = 90;  // flash3's kernel: wgmma and setmaxnreg are sm_90a instructions
  c.dtypes = {DType::f16, DType::bf16};
  c.layouts = {Layout::BSHD, Layout::BHSD};
  c.head_dim_min = 8;
  c.head_dim_max = 256;
  c.head_dim_multiple = 8;
  c.causal_top_left = c.causal_bottom_right = true;  // without a mask_mod (see check)
  c.window = c.gqa = c.lse = true;
  c.deterministic = true;
  c.any_strides = false;
  c.alignment_bytes = 16;
  c.flex_source = true;
  return c;
}

class FlexBackend final : public Backend {
 public:
  FlexBackend() : caps_(flex_capabilities()) {}

  std::string_view id() const noexcept override { return "flex"; }
  std::string_view family() const noexcept override { return "flex"; }
  std::string_view description() const noexcept override {
    return "programmable attention: a FlexSpec's score_mod / mask_mod source compiled at run "
           "time (NVRTC) into flash3's Hopper kernel, block-sparse over the mask";
  }
  const Capabilities& capabilities() const noexcept override { return caps_; }

  Availability availability() const override {
#ifdef ATTEND_WITH_CUDA
    Availability gpu = core::cuda_availability(90, 90, 100);
    if (gpu.score <= 0) return gpu;
    const Availability& compiler = flex::compiler_availability();
    if (compiler.score <= 0) return compiler;
    return {gpu.score, str(gpu.reason, "; ", compiler.reason)};
#else
    return {0, "built without CUDA"};
#endif
  }

  void check(const Problem& p, ReasonSink& sink) const override {
    if (p.flex == nullptr || !p.flex->has_source()) {
      sink.refuse(Code::flex, "flex spec", "score_mod and/or mask_mod source",
                  p.flex == nullptr ? "none" : "callables only");
      return;
    }
    check_flash3_limits(p, sink);
    if (p.B > 65535 || p.Hq > 65535) {
      sink.refuse(Code::overflow, "batch and heads", "<= 65535", str("B ", p.B, ", Hq ", p.Hq));
    }
    if (!p.flex->mask_mod.empty() && (p.causal || p.banded())) {
      sink.refuse(Code::flex, "causal/window with a mask_mod", "one of them (write it in mask_mod)",
                  "both");
    }
    if (sink.refused() && !sink.detailed()) return;
#ifdef ATTEND_WITH_CUDA
    // The module is compiled now (or found in a cache): a source that does not compile is a
    // refusal with the compiler's message.
    try {
      const auto m = flex::compiled_module(*p.flex, flex::variant_of(p));
      if (!m->error.empty()) {
        sink.refuse(Code::flex, "flex source", "source that compiles", m->error);
        return;
      }
      if (sink.detailed() && m->from != flex::CompiledModule::From::memory) {
        sink.note(str(
            "flex module ",
            m->from == flex::CompiledModule::From::disk ? "read from the disk cache" : "compiled",
            " in ", static_cast<int>(m->compile_ms), " ms"));
      }
    } catch (const Error& e) {
      sink.refuse(e.code(), "flex module", "compiled", e.what());
      return;
    }
    if (sink.detailed() && !p.flex->mask_mod.empty() && p.flex->block_mask == nullptr) {
      sink.note("the block mask is built on every call; attend::flex_block_mask builds it once");
    }
#endif
    note_padded_head_dim(sink, p.D, flash3::kernel_head_dim(p.D));
  }

  void run(const Problem& p) const override {
#ifdef ATTEND_WITH_CUDA
    flex::run(p);
#else
    (void)p;
    throw Error(Code::unavailable, "attend: flex was built without CUDA");
#endif
  }

 private:
  Capabilities caps_;
};

}  // namespace

std::shared_ptr<const Backend> make_flex() {
  return std::make_shared<FlexBackend>();
}

}  // namespace attend::backends

namespace attend {

std::shared_ptr<const FlexBlockMask> flex_block_mask(const FlexSpec& spec, const Params& params) {
  Params with_spec = params;
  with_spec.flex = &spec;
  const Problem p = core::resolve(with_spec);
  if (p.device.kind != DeviceKind::cuda) {
    throw Error(Code::device, "attend: flex_block_mask builds block masks for CUDA tensors");
  }
  if (flash3::kernel_head_dim(p.D) == 0) {
    throw Error(Code::head_dim, core::str("attend: flex_block_mask: head dim ", p.D, " > 256"));
  }
#ifdef ATTEND_WITH_CUDA
  return flex::build_block_mask(p);
#else
  throw Error(Code::unavailable, "attend: flex_block_mask: built without CUDA");
#endif
}

}  // namespace attend
