// Backend `efficient`: the mask-anything path, the role of xFormers' and PyTorch's
// memory-efficient kernels. Any attn_mask (bool or additive, any floating dtype, broadcast over
// any of B/H/Sq/Sk, any key count) and key padding are added to the scores inside the kernel, so
// memory stays O(S) beyond the mask itself. fp16/bf16 run on flash's tensor-core kernel with a
// masks variant; fp32 on an exact fp32 kernel of its own.
#include "attend/backend.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include "attend/problem.hpp"
#include "backends/builtin.hpp"
#include "backends/efficient/launch.hpp"
#include "backends/flash/launch.hpp"
#include "backends/head_dim_note.hpp"
#include "core/cuda_devices.hpp"
#include "core/text.hpp"

namespace attend::backends {
namespace {

using core::str;

Capabilities efficient_capabilities() {
  Capabilities c;
  c.device = DeviceKind::cuda;
  c.min_sm = 80;
  c.dtypes = {DType::f32, DType::f16, DType::bf16};
  c.layouts = {Layout::BSHD, Layout::BHSD};
  c.head_dim_min = 8;
  c.head_dim_max = 256;
  c.head_dim_multiple = 8;
  c.bool_mask = c.additive_mask = c.key_padding_mask = true;
  c.mask_with_causal = true;
  c.causal_top_left = c.causal_bottom_right = true;
  c.window = c.softcap = c.gqa = c.lse = true;  // no dropout: flash_varlen/flash/cudnn have it
  c.deterministic = true;
  c.any_strides = false;
  c.alignment_bytes = 16;
  return c;
}

class EfficientBackend final : public Backend {
 public:
  EfficientBackend() : caps_(efficient_capabilities()) {}

  std::string_view id() const noexcept override { return "efficient"; }
  std::string_view family() const noexcept override { return "efficient"; }
  std::string_view description() const noexcept override {
    return "memory-efficient kernels for what the fast ones refuse: any bool/additive mask "
           "added in the kernel, fp32 exactly, head dims to 256";
  }
  std::vector<std::string> aliases() const override { return {"_native_efficient", "xformers"}; }
  const Capabilities& capabilities() const noexcept override { return caps_; }
  Availability availability() const override { return core::cuda_availability(80, 0, 80); }

  void check(const Problem& p, ReasonSink& sink) const override {
    constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
    if (p.Sq > kMax || p.Sk > kMax || p.B > 65535 || p.Hq > 65535) {
      sink.refuse(Code::overflow, "sizes", str("Sq, Sk <= ", kMax, "; B, Hq <= 65535"),
                  str("Sq ", p.Sq, ", Sk ", p.Sk, ", B ", p.B, ", Hq ", p.Hq));
    }
    if (p.D != p.Dv) {
      sink.refuse(Code::head_dim_v, "V head dim", str(p.D, " (Q/K head dim)"), str(p.Dv));
    }
    if (p.dtype == DType::f32) return;
    // Half precision runs flash's kernel: its head-dim instantiations and 32-bit tile offsets.
    constexpr std::int64_t kMaxRowStride = std::int64_t{1} << 23;
    for (std::int64_t stride : {p.q.ss, p.k.ss, p.v.ss, p.out.ss}) {
      if (stride > kMaxRowStride || stride < 0) {
        sink.refuse(Code::stride, "token strides (elements)", str("0..", kMaxRowStride),
                    str(stride));
        break;
      }
    }
    const int kd = flash::kernel_head_dim(p.D);
    if (kd == 0) {
      sink.refuse(Code::head_dim, "head dim (compiled kernels)", "a compiled flash head dim",
                  str(p.D));
    } else {
      note_padded_head_dim(sink, p.D, kd);
    }
  }

  void run(const Problem& p) const override {
#ifdef ATTEND_WITH_CUDA
    efficient::run(p);
#else
    (void)p;
    throw Error(Code::unavailable, "attend: efficient was built without CUDA");
#endif
  }

 private:
  Capabilities caps_;
};

}  // namespace

std::shared_ptr<const Backend> make_efficient() {
  return std::make_shared<EfficientBackend>();
}

}  // namespace attend::backends
