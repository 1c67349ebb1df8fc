// Backends `flash` and `flash_varlen`: our FlashAttention-2-class CUDA kernels (mma.sync,
// ldmatrix, cp.async) for sm80 and newer. One kernel family; `flash` takes dense BSHD/BHSD
// problems, `flash_varlen` packed THD sequences and dense problems with a key-padding mask.
#include "attend/backend.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include "attend/problem.hpp"
#include "backends/builtin.hpp"
#include "backends/flash/launch.hpp"
#include "backends/head_dim_note.hpp"
#include "core/cuda_devices.hpp"
#include "core/text.hpp"

namespace attend::backends {
namespace {

using core::str;

std::string head_dim_list() {
  std::string s;
  for (int d : flash::compiled_head_dims()) s += (s.empty() ? "" : ", ") + std::to_string(d);
  return s;
}

Capabilities flash_capabilities() {
  Capabilities c;
  c.device = DeviceKind::cuda;
  c.min_sm = 80;
  c.dtypes = {DType::f16, DType::bf16};
  c.layouts = {Layout::BSHD, Layout::BHSD};
  c.head_dim_min = 8;
  c.head_dim_max = 256;
  c.head_dim_multiple = 8;  // rows move in 16-byte pieces
  c.causal_top_left = c.causal_bottom_right = true;
  c.window = c.softcap = c.gqa = c.dropout = c.lse = true;
  c.deterministic = true;  // split-KV combines in a fixed order; no atomics
  c.any_strides = false;   // head-dim stride 1; other strides free
  c.alignment_bytes = 16;
  return c;
}

class FlashBackend : public Backend {
 public:
  FlashBackend() : caps_(flash_capabilities()) {}

  std::string_view id() const noexcept override { return "flash"; }
  std::string_view family() const noexcept override { return "flash"; }
  std::string_view description() const noexcept override {
    return "CUDA FlashAttention-2-class kernels, sm80+: mma.sync tensor cores, ldmatrix, "
           "cp.async pipelining, online softmax in registers, split-KV for long keys";
  }
  std::vector<std::string> aliases() const override { return {"_native_flash"}; }
  const Capabilities& capabilities() const noexcept override { return caps_; }
  Availability availability() const override { return core::cuda_availability(80, 0, 100); }

  void check(const Problem& p, ReasonSink& sink) const override {
    constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
    if (p.Sq > kMax || p.Sk > kMax || p.B > 65535 || p.Hq > 65535) {
      sink.refuse(Code::overflow, "sizes", str("Sq, Sk <= ", kMax, "; B, Hq <= 65535"),
                  str("Sq ", p.Sq, ", Sk ", p.Sk, ", B ", p.B, ", Hq ", p.Hq));
    }
    // Offsets inside one tile are 32-bit in the kernels: a tile spans at most 128 rows.
    constexpr std::int64_t kMaxRowStride = std::int64_t{1} << 23;
    const std::int64_t row_strides[] = {p.q.ss, p.k.ss, p.v.ss, p.out.ss};
    const char* names[] = {"q", "k", "v", "out"};
    for (int i = 0; i < 4; ++i) {
      if (row_strides[i] > kMaxRowStride || row_strides[i] < 0) {
        sink.refuse(Code::stride, str(names[i], " token stride (elements)"),
                    str("0..", kMaxRowStride), std::to_string(row_strides[i]));
        if (!sink.detailed()) return;
      }
    }
    const int kd = flash::kernel_head_dim(p.D);
    if (kd == 0) {
      sink.refuse(Code::head_dim, "head dim (compiled kernels)", head_dim_list(),
                  std::to_string(p.D));
    } else {
      note_padded_head_dim(sink, p.D, kd);
    }
  }

  void run(const Problem& p) const override {
#ifdef ATTEND_WITH_CUDA
    flash::run(p);
#else
    (void)p;
    throw Error(Code::unavailable, "attend: flash was built without CUDA");
#endif
  }

 protected:
  Capabilities caps_;
};

class FlashVarlenBackend final : public FlashBackend {
 public:
  FlashVarlenBackend() {
    caps_.layouts = {Layout::THD, Layout::BSHD, Layout::BHSD};
    caps_.key_padding_mask = true;
  }
  std::string_view id() const noexcept override { return "flash_varlen"; }
  std::string_view description() const noexcept override {
    return "flash on packed sequences: THD with cu_seqlens, or dense tensors with a key-padding "
           "mask compacted on the device (any pattern: left, right, gaps)";
  }
  std::vector<std::string> aliases() const override { return {}; }
  Availability availability() const override { return core::cuda_availability(80, 0, 90); }

  void check(const Problem& p, ReasonSink& sink) const override {
    FlashBackend::check(p, sink);
    if (!p.key_padding.present()) return;
    // Compaction renumbers the kept keys, so anything that depends on a key's position
    // cannot be combined with it.
    if (p.causal || p.banded()) {
      sink.refuse(Code::mask_with_causal, "key_padding_mask with causal/window", "one of them",
                  "both");
    }
    if (p.dropout_p > 0) {
      sink.refuse(Code::dropout, "dropout with key_padding_mask", "0", str(p.dropout_p));
    }
  }
};

}  // namespace

std::shared_ptr<const Backend> make_flash() {
  return std::make_shared<FlashBackend>();
}
std::shared_ptr<const Backend> make_flash_varlen() {
  return std::make_shared<FlashVarlenBackend>();
}

}  // namespace attend::backends
