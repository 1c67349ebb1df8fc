// "attend/problem.hpp" for run-time compilation: the kernels' parameter block names MaskRef and
// DType; the host's definitions, restated without the host-only parts. The generated source
// checks that the parameter block has the host's size and offsets.
#pragma once
#include <cstdint>
namespace attend {
enum class DType : std::uint8_t { f32, f16, bf16, f64, boolean, i32, i64 };
struct MaskRef {
  const void* data = nullptr;
  DType dtype = DType::boolean;
  std::int64_t sb = 0, sh = 0, sq = 0, sk = 0;
};
}  // namespace attend
