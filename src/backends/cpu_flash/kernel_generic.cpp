// cpu_flash kernels in portable C++ (fp32 math), for any CPU the library is built for.
#include "backends/cpu_flash/kernel_interface.hpp"

#define ATTEND_CPU_FLASH_ISA generic
#include "backends/cpu_flash/simd_portable.hpp"

// The kernel templates, written against the Simd above.
#include "backends/cpu_flash/attend_kv.hpp"

namespace attend::cpu_flash::generic {
namespace {

struct Shape {
  static constexpr int kScoreRows = 4, kScoreCols = 2;
  static constexpr int kValueRows = 4, kValueCols = 2;
  static constexpr int kQTile = 64, kKvTile = 64;
};

void pack(const KernelArgs& args, const Panel& panel, std::int64_t j0, std::int64_t n) noexcept {
  pack_panel<Fp32Mode>(args, panel, j0, n);
}

void run(const KernelArgs& args, const QTile& tile) noexcept {
  attend_kv<Fp32Mode, Shape>(args, tile);
}

constexpr IsaKernel kKernel{.isa = Isa::generic,
                            .math = Math::f32,
                            .lanes = Simd::kLanes,
                            .q_tile = Shape::kQTile,
                            .kv_tile = Shape::kKvTile,
                            .pack_panel = pack,
                            .attend_kv = run};

}  // namespace

const IsaKernel* kernel() noexcept {
  return &kKernel;
}

}  // namespace attend::cpu_flash::generic
