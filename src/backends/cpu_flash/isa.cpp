// Run-time ISA detection for cpu_flash. Compiled without ISA flags, like the rest of the driver.
#include "backends/cpu_flash/isa.hpp"

#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "backends/cpu_flash/kernel_interface.hpp"

namespace attend::cpu_flash {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// F16C (leaf 1, ECX bit 29) and AVX512-BF16 (leaf 7.1, EAX bit 5) straight from CPUID: not every
// compiler's __builtin_cpu_supports knows them. Whether the OS saves the vector state is
// covered by the avx2 / avx512f checks, which do look at it.
bool cpuid_bit(unsigned leaf, unsigned sub_leaf, int reg, int bit) noexcept {
  unsigned r[4] = {0, 0, 0, 0};
  if (!__get_cpuid_count(leaf, sub_leaf, &r[0], &r[1], &r[2], &r[3])) return false;
  return (r[reg] >> bit) & 1u;
}
constexpr int kEax = 0, kEcx = 2;
#endif

bool cpu_has(Isa isa) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx2 =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpuid_bit(1, 0, kEcx, 29);
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
  switch (isa) {
    case Isa::generic:
      return true;
    case Isa::avx2:
      return avx2;
    case Isa::avx512:
      return avx512;
    case Isa::avx512_bf16:
      return avx512 && cpuid_bit(7, 1, kEax, 5);
  }
  return false;
#else
  return isa == Isa::generic;
#endif
}

bool built(Isa isa) noexcept {
  return kernel_for(isa) != nullptr;
}

}  // namespace

const IsaKernel* kernel_for(Isa isa) noexcept {
  switch (isa) {
    case Isa::generic:
      return generic::kernel();
    case Isa::avx2:
      return avx2::kernel();
    case Isa::avx512:
      return avx512::kernel();
    case Isa::avx512_bf16:
      return avx512_bf16::kernel();
  }
  return nullptr;
}

std::string_view isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::generic:
      return "generic";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
    case Isa::avx512_bf16:
      return "avx512+bf16";
  }
  return "?";
}

Isa detected_isa() noexcept {
  for (Isa isa : {Isa::avx512_bf16, Isa::avx512, Isa::avx2}) {
    if (built(isa) && cpu_has(isa)) return isa;
  }
  return Isa::generic;
}

Isa selected_isa(std::string* note) {
  const Isa best = detected_isa();
  const char* env = std::getenv("ATTEND_CPU_ISA");
  if (!env || !*env) return best;
  const std::string_view want(env);
  Isa asked = best;
  if (want == "generic") {
    asked = Isa::generic;
  } else if (want == "avx2") {
    asked = Isa::avx2;
  } else if (want == "avx512-nobf16") {
    asked = Isa::avx512;
  } else if (want == "avx512") {
    asked = Isa::avx512_bf16;
  } else if (note) {
    *note = "ATTEND_CPU_ISA=" + std::string(want) +
            " not understood (generic, avx2, avx512, avx512-nobf16)";
  }
  // Only ever lower: a level the CPU or the build lacks cannot be forced on.
  return static_cast<int>(asked) < static_cast<int>(best) ? asked : best;
}

}  // namespace attend::cpu_flash
