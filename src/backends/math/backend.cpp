// Backend `math`: the CPU reference. Every feature, any strides, fp64 accumulation; ranked last
// by `auto` because it is the slowest, and used as the oracle by the tests and `attend check`.
#include "attend/backend.hpp"

#include "backends/builtin.hpp"
#include "backends/math/reference.hpp"

namespace attend::backends {
namespace {

class MathBackend final : public Backend {
 public:
  MathBackend() {
    caps_.device = DeviceKind::cpu;
    caps_.dtypes = {DType::f32, DType::f16, DType::bf16, DType::f64};
    caps_.layouts = {Layout::BSHD, Layout::BHSD, Layout::THD};
    caps_.different_v_head_dim = true;
    caps_.bool_mask = caps_.additive_mask = caps_.key_padding_mask = true;
    caps_.mask_with_causal = true;
    caps_.causal_top_left = caps_.causal_bottom_right = true;
    caps_.window = caps_.softcap = caps_.gqa = caps_.dropout = caps_.lse = true;
    caps_.deterministic = true;
  }
  std::string_view id() const noexcept override { return "math"; }
  std::string_view family() const noexcept override { return "reference"; }
  std::string_view description() const noexcept override {
    return "CPU reference: plain loops, fp64 accumulation, every feature";
  }
  std::vector<std::string> aliases() const override { return {"_native_math"}; }
  const Capabilities& capabilities() const noexcept override { return caps_; }
  Availability availability() const override { return {1, "always (reference)"}; }
  void run(const Problem& problem) const override { math::run_reference(problem); }

 private:
  Capabilities caps_;
};

}  // namespace

std::shared_ptr<const Backend> make_math() {
  return std::make_shared<MathBackend>();
}

}  // namespace attend::backends
