// Backend `cuda_math`: the GPU reference. cuBLAS GEMMs in pedantic fp32 and a softmax kernel,
// every feature of `math`, any strides and head dims; the oracle of the GPU tests, ranked below
// every real kernel by `auto`.
#include "attend/backend.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include "attend/problem.hpp"
#include "backends/builtin.hpp"
#include "backends/cuda_math/run.hpp"
#include "core/cuda_devices.hpp"
#include "core/text.hpp"

// The build's oldest CUDA architecture (its kernels carry that PTX too, so newer GPUs run them).
#ifndef ATTEND_CUDA_MIN_SM
#define ATTEND_CUDA_MIN_SM 0
#endif

namespace attend::backends {
namespace {

using core::str;

Capabilities cuda_math_capabilities() {
  Capabilities c;
  c.device = DeviceKind::cuda;
  c.min_sm = ATTEND_CUDA_MIN_SM;
  c.dtypes = {DType::f32, DType::f16, DType::bf16};
  c.layouts = {Layout::BSHD, Layout::BHSD, Layout::THD};
  c.head_dim_min = 1;
  c.head_dim_max = 512;
  c.different_v_head_dim = true;
  c.bool_mask = c.additive_mask = c.key_padding_mask = true;  // additive: any floating dtype
  c.mask_with_causal = true;
  c.causal_top_left = c.causal_bottom_right = true;
  c.window = c.softcap = c.gqa = c.dropout = c.lse = true;
  c.deterministic = true;  // cuBLAS without atomics, one block per softmax row
  c.any_strides = true;
  return c;
}

class CudaMathBackend final : public Backend {
 public:
  CudaMathBackend() : caps_(cuda_math_capabilities()) {}

  std::string_view id() const noexcept override { return "cuda_math"; }
  std::string_view family() const noexcept override { return "reference"; }
  std::string_view description() const noexcept override {
    return "GPU reference: cuBLAS GEMMs (pedantic fp32) and a softmax kernel, every feature, "
           "chunked to a bounded workspace";
  }
  const Capabilities& capabilities() const noexcept override { return caps_; }
  Availability availability() const override {
    return core::cuda_availability(ATTEND_CUDA_MIN_SM, 0, 10);
  }

  void check(const Problem& p, ReasonSink& sink) const override {
    // cuBLAS takes int sizes and leading dimensions.
    constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
    if (p.Sk > kMax || p.Hq > kMax) {
      sink.refuse(Code::overflow, "sizes", str("Sk, Hq <= ", kMax),
                  str("Sk ", p.Sk, ", Hq ", p.Hq));
    }
  }

  void run(const Problem& p) const override {
#ifdef ATTEND_WITH_CUDA
    cuda_math::run(p);
#else
    (void)p;
    throw Error(Code::unavailable, "attend: cuda_math was built without CUDA");
#endif
  }

 private:
  Capabilities caps_;
};

}  // namespace

std::shared_ptr<const Backend> make_cuda_math() {
  return std::make_shared<CudaMathBackend>();
}

}  // namespace attend::backends
