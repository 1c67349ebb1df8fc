// The quantization pass: a warp quantizes (token, head) rows, each lane four channels (head
// dims up to 128); V's fp8 copy goes through a shared tile to be transposed. K is smoothed by its
// mean over each sequence's keys, which moves every score of a query row by the same amount
// (softmax does not see it; the LSE gets it back through lse_bias) and takes per-channel offsets
// out of K's int8 range.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
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

// The bits of four channels from 4·lane of one row, zeros when !ok (nothing is read then). A
// predicated load, not a branch, so that the loads of several rows are in flight together.
template <class T>
__device__ __forceinline__ uint2 load_bits4(const T* row, int lane, bool ok) {
  uint2 raw = make_uint2(0u, 0u);
  if (ok) raw = *reinterpret_cast<const uint2*>(row + 4 * lane);
  return raw;
}
template <class T>
__device__ __forceinline__ void to_float4(const uint2& raw, float (&x)[4]) {
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int c = 0; c < 4; ++c) x[c] = cuda::to_float(e[c]);
}

// Block (key block, kv head, sequence): sums K and takes the largest |V| per channel over up to
// kStatsRows keys, every warp's rows loaded at once; the sums go to the block's partial, the
// maxima into the totals. The last block of its (kv head, sequence) to finish adds the partials
// up in key-block order and writes the mean of K and V's inverse steps.
template <class T>
__global__ void __launch_bounds__(kWarps* kLanes) key_stats_kernel(const Quantize a) {
  constexpr int kRows = kStatsRows / kWarps;
  __shared__ float sums[kWarps][128], maxima[kWarps][128];
  __shared__ bool finishes;
  const int hk = static_cast<int>(blockIdx.y), b = static_cast<int>(blockIdx.z);
  const int warp = static_cast<int>(threadIdx.x) / kLanes,
            lane = static_cast<int>(threadIdx.x) % kLanes;
  const int c = static_cast<int>(threadIdx.x);  // the channel of the block-wide steps
  const Span s = span_of(a.cu_k, b, a.Sk);
  const std::int64_t at = (static_cast<std::int64_t>(hk) * a.B + b) * a.kernel_dim;
  const std::int64_t block_stride = static_cast<std::int64_t>(a.Hkv) * a.B * a.kernel_dim;
  const int first = static_cast<int>(blockIdx.x) * kStatsRows;
  if (first < s.len) {
    uint2 k_bits[kRows], v_bits[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int i = first + warp + r * kWarps;
      const std::int64_t token = s.start + i;
      const bool ok = i < s.len && 4 * lane < a.D;
      k_bits[r] = load_bits4(static_cast<const T*>(a.k) + b * a.k_sb + token * a.k_ss + hk * a.k_sh,
                             lane, ok);
      v_bits[r] = load_bits4(static_cast<const T*>(a.v) + b * a.v_sb + token * a.v_ss + hk * a.v_sh,
                             lane, ok && a.v_max != nullptr);
    }
    float k[kRows][4], v[kRows][4];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      to_float4<T>(k_bits[r], k[r]);
      to_float4<T>(v_bits[r], v[r]);
    }
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float sum = 0.f, mx = 0.f;
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        sum += k[r][e];
        mx = fmaxf(mx, fabsf(v[r][e]));  // fmaxf drops NaN
      }
      sums[warp][4 * lane + e] = sum;
      maxima[warp][4 * lane + e] = mx;
    }
    __syncthreads();
    if (c < a.D) {
      float total = 0.f, largest = 0.f;
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        total += sums[w][c];
        largest = fmaxf(largest, maxima[w][c]);
      }
      a.k_partial[blockIdx.x * block_stride + at + c] = total;
      if (a.v_max != nullptr) atomicMax(a.v_max + at + c, __float_as_uint(largest));  // >= 0
    }
  }

  // Publish this block's sums and maxima (the barrier gathers the block's writes, thread 0's
  // fence makes them visible to the GPU), then count the block; the last one sees all of them.
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    finishes = atomicAdd(a.stats_done + hk * a.B + b, 1u) == gridDim.x - 1;
    __threadfence();
  }
  __syncthreads();
  if (!finishes) return;
  // Each half of the block adds every other key block's sums for one channel, eight loads in
  // flight; the order is fixed, so runs repeat exactly.
  constexpr int kChains = 8;
  const int channel = c % 128, half = c / 128;
  float chain[kChains] = {};
  if (channel < a.D) {
    const int blocks = (s.len + kStatsRows - 1) / kStatsRows;
    for (int blk = half; blk < blocks; blk += 2 * kChains) {
#pragma unroll
      for (int j = 0; j < kChains; ++j) {
        const int at_block = blk + 2 * j;
        if (at_block < blocks) {
          chain[j] += __ldcg(a.k_partial + at_block * block_stride + at + channel);
        }
      }
    }
  }
  float sum = 0.f;
#pragma unroll
  for (int j = 0; j < kChains; ++j) sum += chain[j];
  sums[half][channel] = sum;  // every thread has read its sums: the barrier above
  __syncthreads();
  if (c >= a.kernel_dim) return;
  sum = sums[0][c] + sums[1][c];
  a.k_mean[at + c] = s.len > 0 ? sum / static_cast<float>(s.len) : 0.f;
  if (a.v_inv_step != nullptr) {
    const std::uint32_t mx = __ldcg(a.v_max + at + c);
    a.v_inv_step[at + c] = 1.f / (a.v8t != nullptr ? fp8_value_step(mx) : value_step(mx));
  }
}

// Rounds x / step to int8 and packs four of them: x·inv_step + 1.5·2^23 rounds to the nearest
// integer (|x·inv_step| <= 127), whose two's complement is the float's low byte.
__device__ __forceinline__ std::uint32_t pack_int8(const float (&x)[4], float inv_step) {
  std::uint32_t b[4];
#pragma unroll
  for (int c = 0; c < 4; ++c) b[c] = __float_as_uint(fmaf(x[c], inv_step, kMagic));
  return __byte_perm(__byte_perm(b[0], b[1], 0x0040), __byte_perm(b[2], b[3], 0x0040), 0x5410);
}

enum class Rows { query, key, value };

// Where row r (numbered token-major within sequence b, so that a block's warps read
// neighbouring heads) lives, in the source and in the quantized outputs.
struct RowAt {
  int i, h;               // token within the sequence, head
  int len;                // the sequence's length
  bool in_sequence;       // i < len
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
  at.len = s.len;
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

// Row r + 1 from row r: the next head of the token, or the first head of the next token. Adds
// instead of row_at's division and 64-bit products.
template <class T, Rows kRows>
__device__ __forceinline__ RowAt next_row(const Quantize& a, int b, RowAt at) {
  const bool query = kRows == Rows::query;
  const int heads = query ? a.Hq : a.Hkv;
  const std::int64_t ss = query ? a.q_ss : kRows == Rows::key ? a.k_ss : a.v_ss;
  const std::int64_t sh = query ? a.q_sh : kRows == Rows::key ? a.k_sh : a.v_sh;
  const T* src = static_cast<const T*>(at.src);
  ++at.out_row;  // tokens are consecutive within a sequence, packed or dense
  if (++at.h < heads) {
    at.src = src + sh;
    at.stat_row += a.B;
  } else {
    at.h = 0;
    ++at.i;
    at.in_sequence = at.i < at.len;
    at.src = src + ss - static_cast<std::int64_t>(heads - 1) * sh;
    at.stat_row = b;
  }
  return at;
}

// Four floats of a per-(kv head, sequence, channel) table for this lane's channels: K's mean
// (Q and K rows) or V's inverse steps (V rows); zeros when the table is not needed.
template <Rows kRows>
__device__ __forceinline__ float4 load_channel_table(const Quantize& a, int b, const RowAt& at,
                                                     int lane) {
  const bool query = kRows == Rows::query;
  // Q uses K's mean for its LSE term only.
  const bool ok = at.in_sequence && 4 * lane < a.kernel_dim && (!query || a.lse_bias != nullptr);
  const int hk = query ? at.h / a.group : at.h;
  const float* table = kRows == Rows::value ? a.v_inv_step : a.k_mean;
  float4 t = make_float4(0.f, 0.f, 0.f, 0.f);
  if (ok) {
    t = *reinterpret_cast<const float4*>(
        table + (static_cast<std::int64_t>(hk) * a.B + b) * a.kernel_dim + 4 * lane);
  }
  return t;
}

// Quantizes (or, for V, converts) one row whose four channels from 4·lane are x; t is the row's
// channel table (load_channel_table). Key rows past a sequence's end (up to key_step_rows)
// write a zero step.
template <class T, Rows kRows>
__device__ __forceinline__ void quantize_row(const Quantize& a, const RowAt& at, int lane,
                                             float (&x)[4], const float (&t)[4]) {
  if (!at.in_sequence) {
    if (kRows == Rows::key && at.i < key_step_rows(a.Sk) && lane == 0) {
      a.k_scale[at.stat_row * key_step_rows(a.Sk) + at.i] = 0.f;
    }
    return;
  }
  const bool writes = 4 * lane < a.kernel_dim;
  if constexpr (kRows == Rows::value) {
    if (!writes) return;
    __half out[4];
#pragma unroll
    for (int c = 0; c < 4; ++c) out[c] = __float2half_rn(x[c] * t[c]);  // exact: powers of two
    reinterpret_cast<uint2*>(static_cast<__half*>(a.v16) + at.out_row * a.kernel_dim)[lane] =
        *reinterpret_cast<const uint2*>(out);
  } else {
    const bool query = kRows == Rows::query;
    if (query) {
#pragma unroll
      for (int c = 0; c < 4; ++c) x[c] *= a.q_sign;
    } else {
#pragma unroll
      for (int c = 0; c < 4; ++c) x[c] -= t[c];
    }
    float largest =
        warp_max(fmaxf(fmaxf(fabsf(x[0]), fabsf(x[1])), fmaxf(fabsf(x[2]), fabsf(x[3]))));
    // fmaxf drops NaN: a NaN input makes its row's step NaN, so it reaches the output.
    if (__any_sync(0xffffffffu, isnan(x[0] + x[1] + x[2] + x[3]))) largest = NAN;
    // A row of zeros quantizes to zeros whatever its step; 1 keeps the kernels' row scales
    // positive (a zero step would turn a masked score's -inf into NaN).
    const float step = largest == 0.f ? 1.f : largest * (1.f / kInt8Max);
    const float inv_step = largest > 0.f ? __fdividef(kInt8Max, largest) : 0.f;
    if (writes) {
      reinterpret_cast<std::uint32_t*>((query ? a.q8 : a.k8) + at.out_row * a.kernel_dim)[lane] =
          pack_int8(x, inv_step);
    }
    if (query) {
      float dot = 0.f;
      if (a.lse_bias != nullptr) {
#pragma unroll
        for (int c = 0; c < 4; ++c) dot += x[c] * t[c];
        dot = warp_sum(dot);
      }
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
// (rows and channel tables) issued together so that enough bytes are in flight to keep the
// memory busy.
template <class T, Rows kRows>
__global__ void __launch_bounds__(kWarps* kLanes) quantize_rows_kernel(const Quantize a) {
  const int warp = static_cast<int>(threadIdx.x) / kLanes;
  const int lane = static_cast<int>(threadIdx.x) % kLanes;
  const int b = static_cast<int>(blockIdx.y);
  // Rows of one sequence number below 2^31 (the backends' checks): 32-bit division by the head
  // count, not a 64-bit one emulated in dozens of instructions.
  const int first = (static_cast<int>(blockIdx.x) * kWarps + warp) * kRowsPerWarp;
  RowAt at[kRowsPerWarp];
  uint2 bits[kRowsPerWarp];
  float4 table[kRowsPerWarp];
#pragma unroll
  for (int k = 0; k < kRowsPerWarp; ++k) {
    at[k] = k == 0 ? row_at<T, kRows>(a, b, first) : next_row<T, kRows>(a, b, at[k - 1]);
    bits[k] =
        load_bits4(static_cast<const T*>(at[k].src), lane, at[k].in_sequence && 4 * lane < a.D);
    table[k] = load_channel_table<kRows>(a, b, at[k], lane);
  }
  float x[kRowsPerWarp][4], t[kRowsPerWarp][4];
#pragma unroll
  for (int k = 0; k < kRowsPerWarp; ++k) {
    to_float4<T>(bits[k], x[k]);
    t[k][0] = table[k].x, t[k][1] = table[k].y, t[k][2] = table[k].z, t[k][3] = table[k].w;
  }
#pragma unroll
  for (int k = 0; k < kRowsPerWarp; ++k) quantize_row<T, kRows>(a, at[k], lane, x[k], t[k]);
}

// Block (64 keys, kv head, sequence) of V's transposed fp8 copy: the keys' rows split into two
// e4m3 planes in a shared tile (every warp's rows loaded at once), then written out channel by
// channel, the keys of each 32 in slot order: 128 rows of the high plane, then 128 of the low.
constexpr int kValueKeys = 64;
template <class T>
__global__ void __launch_bounds__(kWarps* kLanes) value_fp8_kernel(const Quantize a) {
  constexpr int kChannels = 128;
  constexpr int kRows = kValueKeys / kWarps;
  // [plane][key][4 channels]; +1: a column's words fall in different banks
  __shared__ std::uint32_t tile[2][kValueKeys][kChannels / 4 + 1];
  const int hk = static_cast<int>(blockIdx.y), b = static_cast<int>(blockIdx.z);
  const int warp = static_cast<int>(threadIdx.x) / kLanes,
            lane = static_cast<int>(threadIdx.x) % kLanes;
  const int first = static_cast<int>(blockIdx.x) * kValueKeys;
  const float4 inv = *reinterpret_cast<const float4*>(
      a.v_inv_step + (static_cast<std::int64_t>(hk) * a.B + b) * kChannels + 4 * lane);
  const float inv_step[4] = {inv.x, inv.y, inv.z, inv.w};
  uint2 bits[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int i = first + warp + r * kWarps;
    bits[r] = load_bits4(static_cast<const T*>(a.v) + b * a.v_sb +
                             static_cast<std::int64_t>(i) * a.v_ss + hk * a.v_sh,
                         lane, i < a.Sk && 4 * lane < a.D);
  }
  float x[kRows][4];
#pragma unroll
  for (int r = 0; r < kRows; ++r) to_float4<T>(bits[r], x[r]);
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    std::uint32_t hi = 0, lo = 0;
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      const Fp8Pair pair = split_e4m3(x[r][c] * inv_step[c]);
      hi |= static_cast<std::uint32_t>(pair.hi) << (8 * c);
      lo |= static_cast<std::uint32_t>(pair.lo) << (8 * c);
    }
    tile[0][warp + r * kWarps][lane] = hi;
    tile[1][warp + r * kWarps][lane] = lo;
  }
  __syncthreads();
  // A thread takes four slots of four channels: the four keys' words (four channels each),
  // transposed bytewise into the four channels' words (four keys each).
  const int cols = key_step_rows(a.Sk);
  std::uint8_t* out = a.v8t + (static_cast<std::int64_t>(b) * a.Hkv + hk) * 2 * kChannels * cols;
  constexpr int kSlotQuads = kValueKeys / 4;
  for (int item = static_cast<int>(threadIdx.x); item < 2 * kChannels / 4 * kSlotQuads;
       item += kWarps * kLanes) {
    const int slot0 = item % kSlotQuads * 4, quad = item / kSlotQuads % (kChannels / 4);
    const int plane = item / (kSlotQuads * kChannels / 4);
    std::uint32_t w[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int slot = slot0 + e;
      w[e] = tile[plane][slot / 32 * 32 + fp8_key_of_slot(slot % 32)][quad];
    }
    const std::uint32_t low01 = __byte_perm(w[0], w[1], 0x5140),
                        low23 = __byte_perm(w[2], w[3], 0x5140);
    const std::uint32_t high01 = __byte_perm(w[0], w[1], 0x7362),
                        high23 = __byte_perm(w[2], w[3], 0x7362);
    const std::uint32_t channel[4] = {
        __byte_perm(low01, low23, 0x5410), __byte_perm(low01, low23, 0x7632),
        __byte_perm(high01, high23, 0x5410), __byte_perm(high01, high23, 0x7632)};
    std::uint8_t* row =
        out + static_cast<std::int64_t>(plane * kChannels + 4 * quad) * cols + first + slot0;
#pragma unroll
    for (int j = 0; j < 4; ++j) *reinterpret_cast<std::uint32_t*>(row + j * cols) = channel[j];
  }
}

template <class T>
void launch_all(const Quantize& a, cudaStream_t stream) {
  constexpr int kThreads = kWarps * kLanes;
  auto blocks = [](std::int64_t rows) {
    return static_cast<unsigned>((rows + kWarps * kRowsPerWarp - 1) / (kWarps * kRowsPerWarp));
  };
  // At least one block per (kv head, sequence): its last block writes the means and steps.
  const int key_blocks = std::max(1, (a.Sk + kStatsRows - 1) / kStatsRows);
  key_stats_kernel<T><<<dim3(key_blocks, a.Hkv, a.B), kThreads, 0, stream>>>(a);
  ATTEND_CUDA_CHECK_LAUNCH("key_stats_kernel");
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
