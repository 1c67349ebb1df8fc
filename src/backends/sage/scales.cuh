// The number formats the quantization pass and the kernels agree on: the int8 step of a row, the
// fp16 and fp8 steps of a V channel, V's fp8 split and key order, and the exact int32 -> float
// trick the kernels dequantize with.
#pragma once

#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cmath>
#include <cstdint>

namespace attend::sage {

constexpr float kInt8Max = 127.f;

// Rows of each (kv head, sequence)'s key steps: Sk rounded up to whole key tiles of any
// instantiation, so that a tile's steps load without bounds checks.
__host__ __device__ constexpr int key_step_rows(int Sk) {
  return (Sk + 127) / 128 * 128;
}

// V channels are stored as v / step with step a power of two (exact) that brings the channel's
// largest |v| into [2^(top - 1), 2^top). A channel of zeros keeps step 1.
__device__ __forceinline__ float power_of_two_step(std::uint32_t max_bits, int top_log2) {
  const float m = __uint_as_float(max_bits);
  if (!(m > 0.f)) return 1.f;
  if (!(m < INFINITY)) return m;  // inf or NaN in V: let it reach the output
  int e = 0;
  frexpf(m, &e);  // m = f·2^e, f in [0.5, 1)
  return ldexpf(1.f, e - top_log2);
}

// fp16 (sage, bf16 inputs): the top at 2^12, far from fp16's 65504 and with 2^26 of range below
// it before fp16's subnormals.
__device__ __forceinline__ float value_step(std::uint32_t max_bits) {
  return power_of_two_step(max_bits, 12);
}

// fp8 e4m3 (sage_fp8): the top at 2^8, below e4m3's 448 and with 2^13 of range down to its
// smallest normal.
constexpr int kFp8ValueLog2 = 8;
__device__ __forceinline__ float fp8_value_step(std::uint32_t max_bits) {
  return power_of_two_step(max_bits, kFp8ValueLog2);
}

// A float as e4m3 and what rounding left over, also as e4m3: hi + lo carries v to about 2^-8
// of its size (e4m3 alone: 2^-4), so P·V in fp8 loses precision on P's side only.
struct Fp8Pair {
  std::uint8_t hi, lo;
};
__device__ __forceinline__ Fp8Pair split_e4m3(float x) {
  const __nv_fp8_storage_t hi = __nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3);
  const float rest = x - __half2float(__half(__nv_cvt_fp8_to_halfraw(hi, __NV_E4M3)));
  return {hi, __nv_cvt_float_to_fp8(rest, __NV_SATFINITE, __NV_E4M3)};
}

// The key order of V's fp8 copy within each 32 keys: slot k of the P·V MMA's reduction holds key
// fp8_key_of_slot(k). The 8-bit A operand gives a thread slots 4t..4t+3 and 16+4t..16+4t+3 of
// each row, while the score accumulator gives it keys 2t, 2t+1, 8+2t, 9+2t (and 16 on); ordering
// V's keys to match lets the weights pass to the MMA with no exchange between threads.
__host__ __device__ constexpr int fp8_key_of_slot(int k) {
  return 16 * (k / 16) + 8 * ((k % 4) / 2) + 2 * ((k % 16) / 4) + k % 2;
}

// Four floats as e4m3 bytes (rounded to nearest, saturating at ±448; NaN stays NaN), x0 in the
// lowest byte. One cvt per pair on sm_89+, emulated on older devices (which never run it).
__device__ __forceinline__ std::uint32_t pack_e4m3(float x0, float x1, float x2, float x3) {
  const std::uint32_t lo = __nv_cvt_float2_to_fp8x2(make_float2(x0, x1), __NV_SATFINITE, __NV_E4M3);
  const std::uint32_t hi = __nv_cvt_float2_to_fp8x2(make_float2(x2, x3), __NV_SATFINITE, __NV_E4M3);
  return lo | hi << 16;
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
