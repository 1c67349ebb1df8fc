// The number formats the quantization pass and the kernel agree on: the int8 step of a row, the
// fp16 step of a V channel, and the exact int32 -> float trick the kernel dequantizes with.
#pragma once

#include <cmath>
#include <cstdint>

namespace attend::sage {

constexpr float kInt8Max = 127.f;

// Rows of each (kv head, sequence)'s key steps: Sk rounded up to whole key tiles of any
// instantiation, so that a tile's steps load without bounds checks.
__host__ __device__ constexpr int key_step_rows(int Sk) {
  return (Sk + 127) / 128 * 128;
}

// V channels are stored in fp16 as v / step with step a power of two (exact for bf16 values in
// range) that brings the largest |v| into (2^11, 2^12]: far from fp16's 65504, and 2^26 of
// dynamic range below it before fp16's subnormals. A channel of zeros keeps step 1.
__device__ __forceinline__ float value_step(std::uint32_t max_bits) {
  const float m = __uint_as_float(max_bits);
  if (!(m > 0.f)) return 1.f;
  if (!(m < INFINITY)) return m;  // inf or NaN in V: let it reach the output
  int e = 0;
  frexpf(m, &e);  // m = f·2^e, f in [0.5, 1)
  return ldexpf(1.f, e - 12);
}

// An int32 accumulator as a float, exactly, in two full-rate operations instead of a
// quarter-rate conversion: for |x| < 2^22, the bits of 1.5·2^23 + x read as a float are
// 1.5·2^23 + x. The int8 products of a row (127²·256 < 2^22) always fit.
constexpr int kMagicBits = 0x4B400000;
constexpr float kMagic = 12582912.f;  // 1.5·2^23
__device__ __forceinline__ float biased_float(int x) {
  return __int_as_float(x + kMagicBits);  // = kMagic + x
}

}  // namespace attend::sage
