// The quantization pass: a warp quantizes (token, head) rows, each lane four channels (head
// dims up to 128); V's fp8 copy goes through a shared tile to be transposed. K is smoothed by its
// mean over each sequence's keys, which moves every score of a query row by the same amount
// (softmax does not see it; the LSE gets it back through lse_bias) and takes per-channel offsets
// out of K's int8 range.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backends/sage/quantize.hpp"
#include "backends/sage/scales.cuh"
#include "cuda/check.hpp"
#include "cuda/elements.cuh"
#include "cuda/warp.cuh"

namespace attend::sage {
namespace {

using cuda::warp_max;
using cuda::warp_sum;

constexpr int kWarps = 8;
constexpr int kLanes = 32;
constexpr int kRowsPerWarp = 4;

struct Span {
  int start, len;  // first token and length of sequence b
};
__device__ __forceinline__ Span span_of(const std::int32_t* cu, int b, int dense_len) {
  if (cu == nullptr) return {0, dense_len};
  return {cu[b], cu[b + 1] - cu[b]};
}

// Four channels from 4·lane (zeros past `dim`) of one row as floats.
template <class T>
__device__ __forceinline__ void load4(const T* row, int lane, int dim, float (&x)[4]) {
  x[0] = x[1] = x[2] = x[3] = 0.f;
  if (4 * lane >= dim) return;
  const uint2 raw = *reinterpret_cast<const uint2*>(row + 4 * lane);
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int c = 0; c < 4; ++c) x[c] = cuda::to_float(e[c]);
}

// Block (key block, kv head, sequence): sums K and takes the largest |V| per channel over up to
// kStatsRows keys; the sums go to the block's partial, the maxima into the totals.
template <class T>
__global__ void __launch_bounds__(kWarps* kLanes) key_stats_kernel(const Quantize a) {
  __shared__ float sums[kWarps][128], maxima[kWarps][128];
  const int hk = static_cast<int>(blockIdx.y), b = static_cast<int>(blockIdx.z);
  const int warp = static_cast<int>(threadIdx.x) / kLanes,
            lane = static_cast<int>(threadIdx.x) % kLanes;
  const Span s = span_of(a.cu_k, b, a.Sk);
  const int first = static_cast<int>(blockIdx.x) * kStatsRows;
  if (first >= s.len) return;
  float sum[4] = {0.f, 0.f, 0.f, 0.f}, mx[4] = {0.f, 0.f, 0.f, 0.f};
  const int last = min(s.len, first + kStatsRows);
  for (int i = first + warp; i < last; i += kWarps) {
    const std::int64_t token = s.start + i;
    float k[4];
    load4(static_cast<const T*>(a.k) + b * a.k_sb + token * a.k_ss + hk * a.k_sh, lane, a.D, k);
#pragma unroll
    for (int c = 0; c < 4; ++c) sum[c] += k[c];
    if (a.v_max != nullptr) {
      float v[4];
      load4(static_cast<const T*>(a.v) + b * a.v_sb + token * a.v_ss + hk * a.v_sh, lane, a.D, v);
#pragma unroll
      for (int c = 0; c < 4; ++c) mx[c] = fmaxf(mx[c], fabsf(v[c]));  // fmaxf drops NaN
    }
  }
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    sums[warp][4 * lane + c] = sum[c];
    maxima[warp][4 * lane + c] = mx[c];
  }
  __syncthreads();
  const int c = static_cast<int>(threadIdx.x);
  if (c >= a.D) return;
  float total = 0.f, largest = 0.f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) {
    total += sums[w][c];
    largest = fmaxf(largest, maxima[w][c]);
  }
  const std::int64_t at = (static_cast<std::int64_t>(hk) * a.B + b) * a.kernel_dim + c;
  a.k_partial[blockIdx.x * static_cast<std::int64_t>(a.Hkv) * a.B * a.kernel_dim + at] = total;
  if (a.v_max != nullptr) atomicMax(a.v_max + at, __float_as_uint(largest));  // >= 0: int order
}

// Block (kv head, sequence), thread per channel: the key blocks' sums in order.
__global__ void sum_key_blocks_kernel(const Quantize a) {
  const int hk = static_cast<int>(blockIdx.x), b = static_cast<int>(blockIdx.y);
  const int c = static_cast<int>(threadIdx.x);
  const Span s = span_of(a.cu_k, b, a.Sk);
  const std::int64_t at = (static_cast<std::int64_t>(hk) * a.B + b) * a.kernel_dim + c;
  const std::int64_t block_stride = static_cast<std::int64_t>(a.Hkv) * a.B * a.kernel_dim;
  // Four independent chains keep loads in flight; the order is fixed, so runs repeat exactly.
  float chain[4] = {0.f, 0.f, 0.f, 0.f};
  if (c < a.D) {
    const int blocks = (s.len + kStatsRows - 1) / kStatsRows;
    for (int blk = 0; blk < blocks; blk += 4) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (blk + j < blocks) chain[j] += a.k_partial[(blk + j) * block_stride + at];
      }
    }
  }
  a.k_sum[at] = (chain[0] + chain[1]) + (chain[2] + chain[3]);
}

// Rounds x / step to int8 and packs four of them.
__device__ __forceinline__ std::uint32_t pack_int8(const float (&x)[4], float inv_step) {
  std::uint32_t out = 0;
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    const int v = max(-127, min(127, __float2int_rn(x[c] * inv_step)));
    out |= static_cast<std::uint32_t>(v & 0xff) << (8 * c);
  }
  return out;
}

enum class Rows { query, key, value };

// Where row r (numbered token-major within sequence b, so that a block's warps read
// neighbouring heads) lives, in the source and in the quantized outputs.
struct RowAt {
  int i, h;               // token within the sequence, head
  bool in_sequence;       // i < the sequence's length
  const void* src;        // the row in q, k or v
  std::int64_t out_row;   // (token, head) row of the outputs; tokens as the source's
  std::int64_t stat_row;  // (head, sequence) row of the scales and statistics
};

template <class T, Rows kRows>
__device__ __forceinline__ RowAt row_at(const Quantize& a, int b, int r) {
  const bool query = kRows == Rows::query;
  const int heads = query ? a.Hq : a.Hkv;
  RowAt at;
  at.i = static_cast<int>(r / heads);
  at.h = static_cast<int>(r % heads);
  const std::int32_t* cu = query ? a.cu_q : a.cu_k;
  const Span s = span_of(cu, b, query ? a.Sq : a.Sk);
  at.in_sequence = at.i < s.len;
  const std::int64_t token = s.start + at.i;
  const T* base = static_cast<const T*>(query ? a.q : kRows == Rows::key ? a.k : a.v);
  const std::int64_t sb = query ? a.q_sb : kRows == Rows::key ? a.k_sb : a.v_sb;
  const std::int64_t ss = query ? a.q_ss : kRows == Rows::key ? a.k_ss : a.v_ss;
  const std::int64_t sh = query ? a.q_sh : kRows == Rows::key ? a.k_sh : a.v_sh;
  at.src = base + b * sb + token * ss + at.h * sh;
  // Packed sources keep their token numbering; dense ones are b·S + i.
  const std::int64_t out_token =
      cu != nullptr ? token : static_cast<std::int64_t>(b) * (query ? a.Sq : a.Sk) + at.i;
  at.out_row = out_token * heads + at.h;
  at.stat_row = static_cast<std::int64_t>(at.h) * a.B + b;
  return at;
}

// Quantizes (or, for V, converts) one row whose four channels from 4·lane are x. Key rows past
// a sequence's end (up to key_step_rows) write a zero step.
template <class T, Rows kRows>
__device__ __forceinline__ void quantize_row(const Quantize& a, int b, const RowAt& at, int lane,
                                             float (&x)[4]) {
  if (!at.in_sequence) {
    if (kRows == Rows::key && at.i < key_step_rows(a.Sk) && lane == 0) {
      a.k_scale[at.stat_row * key_step_rows(a.Sk) + at.i] = 0.f;
    }
    return;
  }
  const bool writes = 4 * lane < a.kernel_dim;
  if constexpr (kRows == Rows::value) {
    if (!writes) return;
    const std::uint32_t* mx = a.v_max + at.stat_row * a.kernel_dim + 4 * lane;
    __half out[4];
#pragma unroll
    for (int c = 0; c < 4; ++c) out[c] = __float2half_rn(x[c] / value_step(mx[c]));
    reinterpret_cast<uint2*>(static_cast<__half*>(a.v16) + at.out_row * a.kernel_dim)[lane] =
        *reinterpret_cast<const uint2*>(out);
  } else {
    const bool query = kRows == Rows::query;
    if (query) {
#pragma unroll
      for (int c = 0; c < 4; ++c) x[c] *= a.q_sign;
    }
    // The mean of K over this sequence's keys, for the kv head this row meets.
    const int hk = query ? at.h / a.group : at.h;
    const Span keys = span_of(a.cu_k, b, a.Sk);
    float mean[4] = {0.f, 0.f, 0.f, 0.f};
    if (keys.len > 0 && 4 * lane < a.D) {
      const float* sum =
          a.k_sum + (static_cast<std::int64_t>(hk) * a.B + b) * a.kernel_dim + 4 * lane;
#pragma unroll
      for (int c = 0; c < 4; ++c) mean[c] = sum[c] / static_cast<float>(keys.len);
    }
    if (!query) {
#pragma unroll
      for (int c = 0; c < 4; ++c) x[c] -= mean[c];
    }
    float largest =
        warp_max(fmaxf(fmaxf(fabsf(x[0]), fabsf(x[1])), fmaxf(fabsf(x[2]), fabsf(x[3]))));
    // fmaxf drops NaN: a NaN input makes its row's step NaN, so it reaches the output.
    if (__any_sync(0xffffffffu, isnan(x[0] + x[1] + x[2] + x[3]))) largest = NAN;
    // A row of zeros quantizes to zeros whatever its step; 1 keeps the kernels' row scales
    // positive (a zero step would turn a masked score's -inf into NaN).
    const float step = largest == 0.f ? 1.f : largest / kInt8Max;
    const float inv_step = largest > 0.f ? kInt8Max / largest : 0.f;
    if (writes) {
      reinterpret_cast<std::uint32_t*>((query ? a.q8 : a.k8) + at.out_row * a.kernel_dim)[lane] =
          pack_int8(x, inv_step);
    }
    if (query) {
      float dot = 0.f;
#pragma unroll
      for (int c = 0; c < 4; ++c) dot += x[c] * mean[c];
      dot = warp_sum(dot);
      if (lane == 0) {
        a.q_scale[at.stat_row * a.Sq + at.i] = step * a.score_scale;
        if (a.lse_bias != nullptr) a.lse_bias[at.stat_row * a.Sq + at.i] = dot * a.lse_scale;
      }
    } else if (lane == 0) {
      a.k_scale[at.stat_row * key_step_rows(a.Sk) + at.i] = step;
    }
  }
}

// One warp per kRowsPerWarp consecutive (token, head) rows of sequence blockIdx.y, their loads
// issued together so that enough bytes are in flight to keep the memory busy.
template <class T, Rows kRows>
__global__ void __launch_bounds__(kWarps* kLanes) quantize_rows_kernel(const Quantize a) {
  const int warp = static_cast<int>(threadIdx.x) / kLanes;
  const int lane = static_cast<int>(threadIdx.x) % kLanes;
  const int b = static_cast<int>(blockIdx.y);
  // Rows of one sequence number below 2^31 (the backends' checks): 32-bit division by the head
  // count, not a 64-bit one emulated in dozens of instructions.
  const int first = (static_cast<int>(blockIdx.x) * kWarps + warp) * kRowsPerWarp;
  RowAt at[kRowsPerWarp];
  float x[kRowsPerWarp][4];
#pragma unroll
  for (int k = 0; k < kRowsPerWarp; ++k) {
    at[k] = row_at<T, kRows>(a, b, first + k);
    if (at[k].in_sequence) {
      load4(static_cast<const T*>(at[k].src), lane, a.D, x[k]);
    } else {
      x[k][0] = x[k][1] = x[k][2] = x[k][3] = 0.f;
    }
  }
#pragma unroll
  for (int k = 0; k < kRowsPerWarp; ++k) quantize_row<T, kRows>(a, b, at[k], lane, x[k]);
}

// Block (64 keys, kv head, sequence) of V's transposed fp8 copy: the keys' rows split into two
// e4m3 planes in a shared tile, then written out channel by channel, the keys of each 32 in slot
// order: 128 rows of the high plane, then 128 of the low.
constexpr int kValueKeys = 64;
template <class T>
__global__ void __launch_bounds__(kWarps* kLanes) value_fp8_kernel(const Quantize a) {
  constexpr int kChannels = 128;
  // [plane][key][4 channels]; +1: a column's words fall in different banks
  __shared__ std::uint32_t tile[2][kValueKeys][kChannels / 4 + 1];
  const int hk = static_cast<int>(blockIdx.y), b = static_cast<int>(blockIdx.z);
  const int warp = static_cast<int>(threadIdx.x) / kLanes,
            lane = static_cast<int>(threadIdx.x) % kLanes;
  const int first = static_cast<int>(blockIdx.x) * kValueKeys;
  const std::int64_t stat_row = static_cast<std::int64_t>(hk) * a.B + b;
  float inv_step[4];
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    inv_step[c] = 1.f / fp8_value_step(a.v_max[stat_row * kChannels + 4 * lane + c]);
  }
  for (int r = warp; r < kValueKeys; r += kWarps) {
    const int i = first + r;
    float x[4] = {0.f, 0.f, 0.f, 0.f};
    if (i < a.Sk) {
      load4(static_cast<const T*>(a.v) + b * a.v_sb + static_cast<std::int64_t>(i) * a.v_ss +
                hk * a.v_sh,
            lane, a.D, x);
    }
    std::uint32_t hi = 0, lo = 0;
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      const Fp8Pair pair = split_e4m3(x[c] * inv_step[c]);
      hi |= static_cast<std::uint32_t>(pair.hi) << (8 * c);
      lo |= static_cast<std::uint32_t>(pair.lo) << (8 * c);
    }
    tile[0][r][lane] = hi;
    tile[1][r][lane] = lo;
  }
  __syncthreads();
  const int cols = key_step_rows(a.Sk);
  std::uint8_t* out = a.v8t + (static_cast<std::int64_t>(b) * a.Hkv + hk) * 2 * kChannels * cols;
  for (int idx = static_cast<int>(threadIdx.x); idx < 2 * kChannels * kValueKeys / 4;
       idx += kWarps * kLanes) {
    const int row = idx / (kValueKeys / 4), slot0 = idx % (kValueKeys / 4) * 4;
    const int plane = row / kChannels, c = row % kChannels;
    std::uint32_t word = 0;
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int slot = slot0 + e, key = slot / 32 * 32 + fp8_key_of_slot(slot % 32);
      word |= ((tile[plane][key][c / 4] >> (8 * (c % 4))) & 0xffu) << (8 * e);
    }
    *reinterpret_cast<std::uint32_t*>(out + static_cast<std::int64_t>(row) * cols + first + slot0) =
        word;
  }
}

template <class T>
void launch_all(const Quantize& a, cudaStream_t stream) {
  constexpr int kThreads = kWarps * kLanes;
  auto blocks = [](std::int64_t rows) {
    return static_cast<unsigned>((rows + kWarps * kRowsPerWarp - 1) / (kWarps * kRowsPerWarp));
  };
  if (a.Sk > 0) {
    key_stats_kernel<T>
        <<<dim3((a.Sk + kStatsRows - 1) / kStatsRows, a.Hkv, a.B), kThreads, 0, stream>>>(a);
    ATTEND_CUDA_CHECK_LAUNCH("key_stats_kernel");
  }
  sum_key_blocks_kernel<<<dim3(a.Hkv, a.B), a.kernel_dim, 0, stream>>>(a);
  ATTEND_CUDA_CHECK_LAUNCH("sum_key_blocks_kernel");
  if (a.Sq > 0) {
    quantize_rows_kernel<T, Rows::query>
        <<<dim3(blocks(static_cast<std::int64_t>(a.Sq) * a.Hq), a.B), kThreads, 0, stream>>>(a);
    ATTEND_CUDA_CHECK_LAUNCH("quantize_rows_kernel (query)");
  }
  if (key_step_rows(a.Sk) > 0) {
    quantize_rows_kernel<T, Rows::key>
        <<<dim3(blocks(static_cast<std::int64_t>(key_step_rows(a.Sk)) * a.Hkv), a.B), kThreads, 0,
           stream>>>(a);
    ATTEND_CUDA_CHECK_LAUNCH("quantize_rows_kernel (key)");
  }
  if (a.v8t != nullptr && a.Sk > 0) {
    value_fp8_kernel<T>
        <<<dim3(key_step_rows(a.Sk) / kValueKeys, a.Hkv, a.B), kThreads, 0, stream>>>(a);
    ATTEND_CUDA_CHECK_LAUNCH("value_fp8_kernel");
  }
  if (a.v16 != nullptr && a.Sk > 0) {
    quantize_rows_kernel<T, Rows::value>
        <<<dim3(blocks(static_cast<std::int64_t>(a.Sk) * a.Hkv), a.B), kThreads, 0, stream>>>(a);
    ATTEND_CUDA_CHECK_LAUNCH("quantize_rows_kernel (value)");
  }
}

}  // namespace

void launch_quantize(const Quantize& a, cudaStream_t stream) {
  if (a.bf16) {
    launch_all<__nv_bfloat16>(a, stream);
  } else {
    launch_all<__half>(a, stream);
  }
}

}  // namespace attend::sage
