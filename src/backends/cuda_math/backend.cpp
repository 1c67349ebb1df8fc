// Backend `cuda_math` (placeholder until its kernels land).
#include "attend/backend.hpp"
#include "backends/builtin.hpp"
namespace attend::backends {
namespace {
class CudaMathBackend final : public Backend {
 public:
  CudaMathBackend() { caps_.device = DeviceKind::cuda; }
  std::string_view id() const noexcept override { return "cuda_math"; }
  std::string_view family() const noexcept override { return "reference"; }
  std::string_view description() const noexcept override { return "GPU reference"; }
  const Capabilities& capabilities() const noexcept override { return caps_; }
  Availability availability() const override { return {0, "not built"}; }
  void run(const Problem&) const override {}
 private:
  Capabilities caps_;
};
}  // namespace
std::shared_ptr<const Backend> make_cuda_math() { return std::make_shared<CudaMathBackend>(); }
}  // namespace attend::backends
