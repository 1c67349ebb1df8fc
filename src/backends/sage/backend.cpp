// Backends `sage`, `sage_varlen` and `sage_fp8`: quantized attention with per-row Q and per-key
// K steps and K smoothed by its mean. `sage` (sm80+) runs int8 Q·K^T on mma.sync tensor cores
// and P·V in fp16 with fp32 accumulation on dense BSHD/BHSD problems, `sage_varlen` the same on
// packed THD sequences and dense problems with a key-padding mask. `sage_fp8` (sm_90) runs int8
// Q·K^T and fp8 P·V on wgmma, accumulating each key block's P·V apart and adding it in fp32.
#include "attend/backend.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include "attend/problem.hpp"
#include "backends/builtin.hpp"
#include "backends/flash3/limits.hpp"
#include "backends/head_dim_note.hpp"
#include "backends/sage/launch.hpp"
#include "core/cuda_devices.hpp"
#include "core/text.hpp"

namespace attend::backends {
namespace {

using core::str;

Capabilities sage_capabilities() {
  Capabilities c;
  c.device = DeviceKind::cuda;
  c.min_sm = 80;
  c.dtypes = {DType::f16, DType::bf16};
  c.layouts = {Layout::BSHD, Layout::BHSD};
  c.head_dim_min = 8;
  c.head_dim_max = 128;     // int8 rows of 64 or 128 bytes
  c.head_dim_multiple = 8;  // rows move in 16-byte pieces
  c.causal_top_left = c.causal_bottom_right = true;
  c.window = c.gqa = c.lse = true;
  c.deterministic = true;  // K's mean is summed in a fixed order; no atomics on sums
  c.any_strides = false;
  c.alignment_bytes = 16;
  c.quantized = true;
  return c;
}

class SageBackend : public Backend {
 public:
  SageBackend() : caps_(sage_capabilities()) {}

  std::string_view id() const noexcept override { return "sage"; }
  std::string_view family() const noexcept override { return "sage"; }
  std::string_view description() const noexcept override {
    return "SageAttention-style quantized kernel, sm80+: Q per row and mean-smoothed K per key "
           "in int8 (mma.sync m16n8k32), P·V in fp16 with fp32 accumulation; quantization "
           "included in every call";
  }
  const Capabilities& capabilities() const noexcept override { return caps_; }
  Availability availability() const override { return core::cuda_availability(80, 0, 40); }

  void check(const Problem& p, ReasonSink& sink) const override {
    check_sizes(p, sink);
    // Offsets inside one tile are 32-bit in the kernel: a tile spans at most 128 rows.
    constexpr std::int64_t kMaxRowStride = std::int64_t{1} << 23;
    if (p.v.ss > kMaxRowStride || p.v.ss < 0 || p.out.ss > kMaxRowStride || p.out.ss < 0) {
      sink.refuse(Code::stride, "v and out token strides (elements)", str("0..", kMaxRowStride),
                  str(p.v.ss, ", ", p.out.ss));
    }
    const int kd = sage::kernel_head_dim(p.D);
    note_padded_head_dim(sink, p.D, kd);
  }

  void run(const Problem& p) const override {
#ifdef ATTEND_WITH_CUDA
    sage::run(p);
#else
    (void)p;
    throw Error(Code::unavailable, "attend: sage was built without CUDA");
#endif
  }

 protected:
  // Sizes the quantization pass indexes with 32-bit rows and grid dimensions.
  static void check_sizes(const Problem& p, ReasonSink& sink) {
    constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
    if (p.Sq > kMax || p.Sk > kMax || p.B > 65535 || p.Hq > 65535 || p.Hq * p.B * p.Sq > kMax ||
        p.total_q * p.Hq > kMax || p.total_k * p.Hkv > kMax || p.B * p.Sk * p.Hkv > kMax ||
        (p.Sk + 128) * p.Hkv > kMax) {  // key rows padded to whole 128-key tiles
      sink.refuse(Code::overflow, "sizes",
                  str("Sq, Sk, rows of every head <= ", kMax, "; B, Hq <= 65535"),
                  str("Sq ", p.Sq, ", Sk ", p.Sk, ", B ", p.B, ", Hq ", p.Hq));
    }
  }

  Capabilities caps_;
};

class SageVarlenBackend final : public SageBackend {
 public:
  SageVarlenBackend() {
    caps_.layouts = {Layout::THD, Layout::BSHD, Layout::BHSD};
    caps_.key_padding_mask = true;
  }
  std::string_view id() const noexcept override { return "sage_varlen"; }
  std::string_view description() const noexcept override {
    return "sage on packed sequences: THD with cu_seqlens, or dense tensors with a key-padding "
           "mask compacted on the device (any pattern: left, right, gaps)";
  }
  Availability availability() const override { return core::cuda_availability(80, 0, 35); }

  void check(const Problem& p, ReasonSink& sink) const override {
    SageBackend::check(p, sink);
    // Compaction renumbers the kept keys, so positions cannot be combined with it.
    if (p.key_padding.present() && (p.causal || p.banded())) {
      sink.refuse(Code::mask_with_causal, "key_padding_mask with causal/window", "one of them",
                  "both");
    }
  }
};

class SageFp8Backend final : public SageBackend {
 public:
  SageFp8Backend() {
    caps_.min_sm = 90;
    caps_.max_sm = 90;  // wgmma and setmaxnreg are sm_90a instructions
  }
  std::string_view id() const noexcept override { return "sage_fp8"; }
  std::string_view description() const noexcept override {
    return "quantized Hopper kernel, sm_90: int8 Q and mean-smoothed K per row (wgmma into "
           "int32), P and V in fp8 e4m3 (wgmma per key block, added in fp32), on flash3's "
           "persistent TMA schedule; quantization included in every call";
  }
  Availability availability() const override { return core::cuda_availability(90, 90, 45); }

  void check(const Problem& p, ReasonSink& sink) const override {
    SageBackend::check_sizes(p, sink);
    check_flash3_limits(p, sink);
    if (sink.detailed()) note_padded_head_dim(sink, p.D, 128);
  }

  void run(const Problem& p) const override {
#ifdef ATTEND_WITH_CUDA
    sage::run_fp8(p);
#else
    (void)p;
    throw Error(Code::unavailable, "attend: sage_fp8 was built without CUDA");
#endif
  }
};

}  // namespace

std::shared_ptr<const Backend> make_sage_fp8() {
  return std::make_shared<SageFp8Backend>();
}
std::shared_ptr<const Backend> make_sage() {
  return std::make_shared<SageBackend>();
}
std::shared_ptr<const Backend> make_sage_varlen() {
  return std::make_shared<SageVarlenBackend>();
}

}  // namespace attend::backends
