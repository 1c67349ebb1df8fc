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

constexpr IsaKernel kKernel = make_kernel<Fp32Mode, Shape>(Isa::generic, Math::f32);

}  // namespace

const IsaKernel* kernel() noexcept {
  return &kKernel;
}

}  // namespace attend::cpu_flash::generic
