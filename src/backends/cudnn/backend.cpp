// Backend `cudnn`: cuDNN 9's SDPA through its graph API (the cudnn-frontend headers), the
// vendor path PyTorch's CUDNN_ATTENTION takes. cuDNN is opened at run time, so a machine
// without it gets score 0 and the reason, never a failed load. Plans are built once per problem
// signature and cached; cuDNN's own verdict on a signature is this backend's refusal reason.
#include "attend/backend.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "attend/problem.hpp"
#include "backends/builtin.hpp"
#include "core/cuda_devices.hpp"
#include "core/text.hpp"

#ifdef ATTEND_WITH_CUDNN
#include "backends/cudnn/lowered.hpp"
#include "backends/cudnn/sdpa.hpp"
#endif

namespace attend::backends {
namespace {

using core::str;

// Faster than `flash` on Hopper and newer, where it is the vendor's tuned kernel; below it
// before.
constexpr int kScoreHopper = 105, kScoreAmpere = 85;

Capabilities cudnn_capabilities() {
  Capabilities c;
  c.device = DeviceKind::cuda;
  c.min_sm = 80;
  c.dtypes = {DType::f16, DType::bf16};
  c.layouts = {Layout::BSHD, Layout::BHSD, Layout::THD};
  c.head_dim_min = 8;
  c.head_dim_max = 256;
  c.head_dim_multiple = 8;
  c.bool_mask = c.additive_mask = c.key_padding_mask = true;
  c.mask_with_causal = true;
  c.causal_top_left = c.causal_bottom_right = true;
  c.window = c.gqa = c.dropout = c.lse = true;
  c.dropout_attend_stream = false;  // cuDNN's own Philox layout
  c.deterministic = true;
  c.any_strides = false;
  c.alignment_bytes = 16;
  return c;
}

class CudnnBackend final : public Backend {
 public:
  CudnnBackend() : caps_(cudnn_capabilities()) {}

  std::string_view id() const noexcept override { return "cudnn"; }
  std::string_view family() const noexcept override { return "cudnn"; }
  std::string_view description() const noexcept override {
    return "cuDNN 9 SDPA through its graph API (cudnn-frontend), loaded at run time; plans "
           "built once per problem signature and cached";
  }
  std::vector<std::string> aliases() const override { return {"_native_cudnn"}; }
  const Capabilities& capabilities() const noexcept override { return caps_; }

  Availability availability() const override {
#ifdef ATTEND_WITH_CUDNN
    Availability a = core::cuda_availability(80, 0, kScoreHopper);
    if (a.score == 0) return a;
    const Availability lib = cudnn::library_availability();
    if (lib.score == 0) return lib;
    const core::CudaDeviceInfo* dev = core::cuda_device(0);
    if (dev != nullptr && dev->sm < 90) a.score = kScoreAmpere;
    a.reason = lib.reason;
    return a;
#else
    const Availability a = core::cuda_availability(80, 0, kScoreHopper);
    if (a.score == 0) return a;
    return {0, "built without cuDNN's headers (scripts/fetch-cudnn.sh fetches them)"};
#endif
  }

  void check(const Problem& p, ReasonSink& sink) const override {
    constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
    if (p.Sq > kMax || p.Sk > kMax) {
      sink.refuse(Code::overflow, "sizes", str("Sq, Sk <= ", kMax),
                  str("Sq ", p.Sq, ", Sk ", p.Sk));
    }
    if (p.varlen) {
      // Ragged offsets are int32 element offsets.
      const std::int64_t reach = std::max(
          {p.total_q * p.q.ss, p.total_k * p.k.ss, p.total_k * p.v.ss, p.total_q * p.out.ss});
      if (reach > kMax) {
        sink.refuse(Code::overflow, "packed tensor elements", str("<= ", kMax), str(reach));
      }
      if (p.lse.present()) {
        sink.refuse(Code::lse, "lse with packed sequences", "no lse", "lse requested");
      }
    }
    if (p.D != p.Dv) {
      sink.refuse(Code::head_dim_v, "V head dim", str(p.D, " (Q/K head dim)"), str(p.Dv));
    }
    if (sink.refused()) return;
#ifdef ATTEND_WITH_CUDNN
    if (sink.detailed() && p.dropout_p > 0) {
      sink.note(
          "dropout draws from cuDNN's own random stream: the kept weights differ from "
          "attend's kernels' for the same seed and offset");
    }
    cudnn::check_graph(p, sink);
#endif
  }

  void run(const Problem& p) const override {
#ifdef ATTEND_WITH_CUDNN
    cudnn::run(p);
#else
    (void)p;
    throw Error(Code::unavailable, "attend: cudnn was built without cuDNN's headers");
#endif
  }

 private:
  Capabilities caps_;
};

}  // namespace

std::shared_ptr<const Backend> make_cudnn() {
  return std::make_shared<CudnnBackend>();
}

}  // namespace attend::backends
