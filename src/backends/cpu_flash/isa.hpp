// Which instruction set the cpu_flash kernels run with: what this CPU and this build offer,
// lowered on request by ATTEND_CPU_ISA (generic | avx2 | avx512 | avx512-nobf16) for testing.
#pragma once

#include <string>
#include <string_view>

namespace attend::cpu_flash {

// Ordered: each level includes everything below it.
enum class Isa : int {
  generic = 0,      // portable C++, no vector extension assumed
  avx2 = 1,         // AVX2 + FMA + F16C
  avx512 = 2,       // AVX-512 F/BW/DQ/VL + FMA + F16C
  avx512_bf16 = 3,  // the above plus AVX512-BF16 (vdpbf16ps) for bf16 inputs
};

std::string_view isa_name(Isa isa) noexcept;

// The best level this CPU supports and this build contains kernels for.
Isa detected_isa() noexcept;

// The level to use now: detected_isa(), lowered to ATTEND_CPU_ISA when that names a lower one.
// `note` (optional) receives a remark when the variable is set but not understood.
Isa selected_isa(std::string* note = nullptr);

}  // namespace attend::cpu_flash
