// The softmax of cuda_math: one block per score row, in place. Pass 1 turns raw dot products
// into masked scores (excluded keys become -inf) and finds the max, pass 2 sums the exponentials,
// pass 3 writes the weights with dropout. Same order of operations as the CPU reference.
#include <cmath>

#include "backends/cuda_math/device_access.cuh"
#include "backends/cuda_math/kernels.hpp"
#include "common/philox.hpp"
#include "common/visibility.hpp"
#include "cuda/check.hpp"

namespace attend::cuda_math {
namespace {

struct SoftmaxArgs {
  Geometry g;
  float* scores;
  float scale, softcap;  // softcap 0: off
  Align align;
  std::int64_t window_left, window_right;
  MaskRef mask, key_padding;
  LseRef lse;
  float dropout_p, keep_scale;
  std::uint64_t seed, offset;
};

// A block-wide reduction; every thread gets the result. blockDim.x is a multiple of 32.
template <class Op>
__device__ float block_reduce(float v, Op op, float* partial) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, warps = blockDim.x / 32;
  if (threadIdx.x % 32 == 0) partial[warp] = v;
  __syncthreads();
  v = partial[0];
  for (int w = 1; w < warps; ++w) v = op(v, partial[w]);
  __syncthreads();  // partial is reused by the next reduction
  return v;
}

__global__ void softmax_rows(SoftmaxArgs a) {
  __shared__ float partial[32];
  const Geometry& g = a.g;
  const std::int64_t row = blockIdx.x;  // over [unit][head in group][row]
  const std::int64_t r = row % g.rows;
  const std::int64_t unit = g.unit0 + row / (g.rows * g.group);
  const std::int64_t b = unit / g.Hkv;
  const std::int64_t h = (unit % g.Hkv) * g.group + (row / g.rows) % g.group;
  const Bounds seq = sequence(g, b);
  const std::int64_t i = g.row0 + r;
  if (i >= seq.q_len) return;  // a padding row: never scattered
  const common::KeyRange band =
      common::visible_keys(i, seq.q_len, seq.k_len, a.align, a.window_left, a.window_right);
  float* s = a.scores + row * g.Sk;

  float m = -INFINITY;
  int nan = 0;  // a NaN score makes the whole row NaN, as in the reference
  for (std::int64_t j = threadIdx.x; j < g.Sk; j += blockDim.x) {
    float x = -INFINITY;
    if (j >= band.lo && j < band.hi) {
      x = s[j] * a.scale;
      if (a.softcap > 0.0f) x = a.softcap * tanhf(x / a.softcap);
      if (a.key_padding.data) x += mask_term(a.key_padding, b, h, i, j);
      if (a.mask.data) x += mask_term(a.mask, b, h, i, j);
      nan |= isnan(x);
      m = fmaxf(m, x);
    }
    s[j] = x;
  }
  nan = __syncthreads_or(nan);
  m = block_reduce(
      m, [](float x, float y) { return fmaxf(x, y); }, partial);

  float lse;
  if (nan) {
    lse = NAN;
    for (std::int64_t j = threadIdx.x; j < g.Sk; j += blockDim.x) s[j] = NAN;
  } else if (m == -INFINITY) {  // fully masked: output 0, LSE -inf
    lse = -INFINITY;
    for (std::int64_t j = threadIdx.x; j < g.Sk; j += blockDim.x) s[j] = 0.0f;
  } else {
    float l = 0.0f;
    for (std::int64_t j = band.lo + threadIdx.x; j < band.hi; j += blockDim.x) {
      l += expf(s[j] - m);
    }
    l = block_reduce(
        l, [](float x, float y) { return x + y; }, partial);
    lse = m + logf(l);
    for (std::int64_t j = threadIdx.x; j < g.Sk; j += blockDim.x) {
      float w = expf(s[j] - m) / l;  // excluded keys: exp(-inf) = 0
      if (a.dropout_p > 0.0f) {
        w = common::dropout_keep(a.seed, a.offset, b, h, i, j, a.dropout_p) ? w * a.keep_scale
                                                                            : 0.0f;
      }
      s[j] = w;
    }
  }
  if (threadIdx.x == 0 && a.lse.data) {
    a.lse.data[b * a.lse.sb + h * a.lse.sh + (seq.q_start + i) * a.lse.sq] = lse;
  }
}

}  // namespace

void softmax(const Problem& p, const Geometry& g, float* scores, cudaStream_t stream) {
  const std::int64_t rows = g.units * g.group * g.rows;
  if (rows == 0) return;
  if (rows > 0x7fffffff) {  // the plan keeps chunks far below this; guard the grid anyway
    throw Error(Code::overflow, "attend: cuda_math chunk has more score rows than a grid holds");
  }
  SoftmaxArgs a;
  a.g = g;
  a.scores = scores;
  a.scale = static_cast<float>(p.scale);
  a.softcap = static_cast<float>(p.softcap);
  a.align = p.align;
  a.window_left = p.window_left;
  a.window_right = p.window_right;
  a.mask = p.mask;
  a.key_padding = p.key_padding;
  a.lse = p.lse;
  a.dropout_p = static_cast<float>(p.dropout_p);
  a.keep_scale = static_cast<float>(1.0 / (1.0 - p.dropout_p));
  a.seed = p.dropout_seed;
  a.offset = p.dropout_offset;
  // Enough threads for short rows, 256 for long ones; always whole warps.
  const std::int64_t warps = (g.Sk + 31) / 32;
  const int threads = static_cast<int>(32 * (warps < 1 ? 1 : (warps > 8 ? 8 : warps)));
  softmax_rows<<<static_cast<unsigned>(rows), threads, 0, stream>>>(a);
  ATTEND_CUDA_CHECK_LAUNCH("cuda_math softmax_rows");
}

}  // namespace attend::cuda_math
