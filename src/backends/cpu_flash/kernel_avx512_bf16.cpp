// cpu_flash kernels for bf16 inputs on AVX512-BF16: both GEMMs with vdpbf16ps (bf16 pairs,
// fp32 accumulation). Built with AVX-512 + BF16 flags and only run after run-time detection.
#include "backends/cpu_flash/kernel_interface.hpp"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && \
    defined(__AVX512VL__) && defined(__AVX512BF16__) && defined(__FMA__) && defined(__F16C__)

#define ATTEND_CPU_FLASH_ISA avx512_bf16
#define ATTEND_CPU_FLASH_BF16_DOT 1
#include "backends/cpu_flash/simd_avx512.hpp"

// The kernel templates, written against the Simd above.
#include "backends/cpu_flash/attend_kv.hpp"

namespace attend::cpu_flash::avx512_bf16 {
namespace {

// 24 accumulators of 16 lanes out of 32 registers: 8 keys (or 8 dv) x 48 queries.
struct Shape {
  static constexpr int kScoreRows = 8, kScoreCols = 3;
  static constexpr int kValueRows = 8, kValueCols = 3;
  static constexpr int kQTile = 96, kKvTile = 64;
};

constexpr IsaKernel kKernel = make_kernel<Bf16Mode, Shape>(Isa::avx512_bf16, Math::bf16_dot);

}  // namespace

const IsaKernel* kernel() noexcept {
  return &kKernel;
}

}  // namespace attend::cpu_flash::avx512_bf16

#else

namespace attend::cpu_flash::avx512_bf16 {
const IsaKernel* kernel() noexcept {
  return nullptr;
}
}  // namespace attend::cpu_flash::avx512_bf16

#endif
