// Backends `flash3` and `flash3_varlen`: the Hopper kernels (wgmma, TMA, warp-specialised
// persistent blocks) for sm_90 devices. `flash3` takes dense BSHD/BHSD problems,
// `flash3_varlen` packed THD sequences and dense problems with a key-padding mask.
#include "attend/backend.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include "attend/problem.hpp"
#include "backends/builtin.hpp"
#include "backends/flash/launch.hpp"
#include "backends/flash3/launch.hpp"
#include "backends/flash3/limits.hpp"
#include "backends/flash3/tiles.hpp"
#include "backends/head_dim_note.hpp"
#include "core/cuda_devices.hpp"
#include "core/text.hpp"

namespace attend::backends {

using core::str;

namespace {

Capabilities flash3_capabilities() {
  Capabilities c;
  c.device = DeviceKind::cuda;
  c.min_sm = 90;
  c.max_sm = 90;  // wgmma and setmaxnreg are sm_90a instructions
  c.dtypes = {DType::f16, DType::bf16};
  c.layouts = {Layout::BSHD, Layout::BHSD};
  c.head_dim_min = 8;
  c.head_dim_max = 256;
  c.head_dim_multiple = 8;  // TMA rows are whole 16-byte units
  c.causal_top_left = c.causal_bottom_right = true;
  c.window = c.softcap = c.gqa = c.lse = true;
  c.deterministic = true;
  c.any_strides = false;
  c.alignment_bytes = 16;  // TMA: base addresses and every stride in 16-byte units
  return c;
}

}  // namespace

void check_flash3_limits(const Problem& p, ReasonSink& sink) {
  constexpr std::int64_t kIntMax = std::numeric_limits<std::int32_t>::max();
  const std::int64_t tiles = (p.Sq + flash3::kBlockM - 1) / flash3::kBlockM * p.Hq * p.B;
  if (p.Sq > kIntMax || p.Sk > kIntMax || tiles > kIntMax || p.total_q > kIntMax ||
      p.total_k > kIntMax || p.B * p.Sk > kIntMax) {
    sink.refuse(Code::overflow, "sizes", str("Sq, Sk, tokens and query tiles <= ", kIntMax),
                str("Sq ", p.Sq, ", Sk ", p.Sk, ", ", tiles, " tiles"));
  }
  // TMA steps every dimension it walks by a positive stride (of at most 2^40 bytes).
  constexpr std::int64_t kMaxStride = std::int64_t{1} << 38;
  const TensorRef* refs[] = {&p.q, &p.k, &p.v, &p.out};
  const std::int64_t heads[] = {p.Hq, p.Hkv, p.Hkv, p.Hq};
  const char* names[] = {"q", "k", "v", "out"};
  const std::int64_t rows[] = {p.Sq, p.Sk, p.Sk, p.Sq};
  for (int i = 0; i < 4; ++i) {
    const TensorRef& r = *refs[i];
    if (rows[i] == 0) continue;  // never read or written
    const bool ok = (r.ss > 0 || rows[i] == 1) && (r.sh > 0 || heads[i] == 1) &&
                    (r.sb > 0 || p.B == 1 || p.varlen) && r.ss < kMaxStride && r.sh < kMaxStride &&
                    r.sb < kMaxStride;
    if (!ok) {
      sink.refuse(Code::stride, str(names[i], " strides (elements)"),
                  "positive and below 2^38 along every dimension longer than 1",
                  str("token ", r.ss, ", head ", r.sh, ", batch ", r.sb));
      if (!sink.detailed()) return;
    }
  }
  if (p.dropout_p > 0) {
    sink.refuse(Code::dropout, "dropout", "0 (flash has dropout)", str(p.dropout_p));
  }
}

namespace {

class Flash3Backend : public Backend {
 public:
  Flash3Backend() : caps_(flash3_capabilities()) {}

  std::string_view id() const noexcept override { return "flash3"; }
  std::string_view family() const noexcept override { return "flash"; }
  std::vector<std::string> aliases() const override { return {"_flash_3", "_flash_3_hub"}; }
  std::string_view description() const noexcept override {
    return "CUDA Hopper kernels, sm_90: wgmma tensor cores, TMA loads and stores on mbarriers, "
           "a producer warp and two ping-ponging consumer warpgroups, persistent tile schedule";
  }
  const Capabilities& capabilities() const noexcept override { return caps_; }
  Availability availability() const override { return core::cuda_availability(90, 90, 110); }

  void check(const Problem& p, ReasonSink& sink) const override {
    check_flash3_limits(p, sink);
    const std::int64_t tiles = (p.Sq + flash3::kBlockM - 1) / flash3::kBlockM * p.Hq * p.B;
    if (!sink.detailed()) return;
    note_padded_head_dim(sink, p.D, flash3::kernel_head_dim(p.D));
    const core::CudaDeviceInfo* dev = core::cuda_device(p.device.index);
    if (dev != nullptr && flash3::prefers_split_kv(tiles, dev->sm_count, p.Sk) &&
        flash::kernel_head_dim(p.D) != 0) {
      sink.note(str(tiles, " query tiles for ", dev->sm_count, " SMs and ", p.Sk,
                    " keys: runs flash's split-KV kernel"));
    }
  }

  void run(const Problem& p) const override {
#ifdef ATTEND_WITH_CUDA
    flash3::run(p);
#else
    (void)p;
    throw Error(Code::unavailable, "attend: flash3 was built without CUDA");
#endif
  }

 protected:
  Capabilities caps_;
};

class Flash3VarlenBackend final : public Flash3Backend {
 public:
  Flash3VarlenBackend() {
    caps_.layouts = {Layout::THD, Layout::BSHD, Layout::BHSD};
    caps_.key_padding_mask = true;
  }
  std::string_view id() const noexcept override { return "flash3_varlen"; }
  std::vector<std::string> aliases() const override { return {"_flash_varlen_3"}; }
  std::string_view description() const noexcept override {
    return "flash3 on packed sequences: THD with cu_seqlens, or dense tensors with a key-padding "
           "mask compacted on the device (any pattern: left, right, gaps)";
  }
  Availability availability() const override { return core::cuda_availability(90, 90, 95); }

  void check(const Problem& p, ReasonSink& sink) const override {
    Flash3Backend::check(p, sink);
    // Compaction renumbers the kept keys: nothing that depends on a key's position combines.
    if (p.key_padding.present() && (p.causal || p.banded())) {
      sink.refuse(Code::mask_with_causal, "key_padding_mask with causal/window", "one of them",
                  "both");
    }
  }
};

}  // namespace

std::shared_ptr<const Backend> make_flash3() {
  return std::make_shared<Flash3Backend>();
}
std::shared_ptr<const Backend> make_flash3_varlen() {
  return std::make_shared<Flash3VarlenBackend>();
}

}  // namespace attend::backends
