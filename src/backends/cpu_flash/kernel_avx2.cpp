// cpu_flash kernels for AVX2 + FMA + F16C, fp32 math for every input type. Built with those
// flags and only run after run-time detection.
#include "backends/cpu_flash/kernel_interface.hpp"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#define ATTEND_CPU_FLASH_ISA avx2
#include "backends/cpu_flash/simd_avx2.hpp"

// The kernel templates, written against the Simd above.
#include "backends/cpu_flash/attend_kv.hpp"

namespace attend::cpu_flash::avx2 {
namespace {

// 12 accumulators of 8 lanes out of 16 registers.
struct Shape {
  static constexpr int kScoreRows = 6, kScoreCols = 2;  // 6 keys x 16 queries
  static constexpr int kValueRows = 4, kValueCols = 3;  // 4 dv x 24 queries
  static constexpr int kQTile = 96, kKvTile = 48;
};

constexpr IsaKernel kKernel = make_kernel<Fp32Mode, Shape>(Isa::avx2, Math::f32);

}  // namespace

const IsaKernel* kernel() noexcept {
  return &kKernel;
}

}  // namespace attend::cpu_flash::avx2

#else

namespace attend::cpu_flash::avx2 {
const IsaKernel* kernel() noexcept {
  return nullptr;
}
}  // namespace attend::cpu_flash::avx2

#endif
