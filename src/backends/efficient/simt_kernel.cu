// The fp32 kernel: exact fp32 arithmetic on the CUDA cores (tensor cores would round the
// inputs to TF32). Each warp owns kRows query rows of one (batch, head); the block's warps share
// K/V tiles of 32 keys in shared memory. Lane j scores key j of the tile with a whole dot product
// over D, so a tile's scores need no reduction; the online softmax reduces across lanes once per
// row and tile; lane l accumulates output columns l, l + 32, ...
#include <cuda_runtime.h>

#include <atomic>
#include <cmath>
#include <cstdint>

#include "backends/efficient/launch.hpp"
#include "common/visibility.hpp"
#include "cuda/check.hpp"
#include "cuda/elements.cuh"
#include "cuda/runtime.hpp"
#include "cuda/warp.cuh"

namespace attend::efficient {
namespace {

using cuda::warp_max;
using cuda::warp_sum;

constexpr int kKeys = 32;  // keys per tile: one per lane
constexpr int kRows = 4;   // query rows per warp
constexpr int kWarps = 8;
constexpr int kBlockRows = kRows * kWarps;

struct SimtParams {
  const float* q;
  const float* k;
  const float* v;
  float* out;
  TensorRef qs, ks, vs, os;  // strides only
  LseRef lse;
  MaskRef mask, key_padding;
  int Hq, group, Sq, Sk, D;
  float scale, softcap;
  Align align;
  std::int64_t window_left, window_right;
};

// Shared memory for head dim D: Q rows, K (rows padded by one) and V tiles.
constexpr int smem_for(int D) {
  return (kBlockRows * D + kKeys * (D + 1) + kKeys * D) * 4;
}

template <int kChunks>
__global__ void __launch_bounds__(kWarps * 32)
    efficient_f32_kernel(const __grid_constant__ SimtParams p) {
  extern __shared__ float smem[];
  const int D = p.D, ldk = D + 1;   // K rows padded: lanes read one column of 32 rows
  float* sQ = smem;                 // [kBlockRows][D]
  float* sK = sQ + kBlockRows * D;  // [kKeys][D + 1]
  float* sV = sK + kKeys * ldk;     // [kKeys][D]

  const int b = static_cast<int>(blockIdx.z), h = static_cast<int>(blockIdx.y);
  const int hk = h / p.group;
  const int row0 = static_cast<int>(blockIdx.x) * kBlockRows;
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int rows = min(kBlockRows, p.Sq - row0);

  for (int e = static_cast<int>(threadIdx.x); e < kBlockRows * D; e += blockDim.x) {
    const int r = e / D, d = e % D;
    sQ[e] = r < rows ? p.q[b * p.qs.sb + static_cast<std::int64_t>(row0 + r) * p.qs.ss +
                           h * p.qs.sh + d * p.qs.sd]
                     : 0.f;
  }

  auto band = [&](std::int64_t i) {
    return common::visible_keys(i, p.Sq, p.Sk, p.align, p.window_left, p.window_right);
  };
  // Keys any row of the block can see.
  const std::int64_t key_lo = rows > 0 ? band(row0).lo : 0;
  const std::int64_t key_hi = rows > 0 ? band(row0 + rows - 1).hi : 0;

  float o[kRows][kChunks];
  float m[kRows], l[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.f;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) o[r][c] = 0.f;
  }

  for (std::int64_t n0 = key_lo / kKeys * kKeys; n0 < key_hi; n0 += kKeys) {
    __syncthreads();  // the previous tile is consumed (and sQ written, the first time)
    for (int e = static_cast<int>(threadIdx.x); e < kKeys * D; e += blockDim.x) {
      const int j = e / D, d = e % D;
      const bool ok = n0 + j < p.Sk;
      const std::int64_t row = n0 + j;
      sK[j * ldk + d] = ok ? p.k[b * p.ks.sb + row * p.ks.ss + hk * p.ks.sh + d * p.ks.sd] : 0.f;
      sV[j * D + d] = ok ? p.v[b * p.vs.sb + row * p.vs.ss + hk * p.vs.sh + d * p.vs.sd] : 0.f;
    }
    __syncthreads();

    float s[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) s[r] = 0.f;
    const float* q_rows = sQ + warp * kRows * D;
    for (int d = 0; d < D; ++d) {
      const float kd = sK[lane * ldk + d];
#pragma unroll
      for (int r = 0; r < kRows; ++r) s[r] = fmaf(q_rows[r * D + d], kd, s[r]);
    }

    const std::int64_t j = n0 + lane;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int i = row0 + warp * kRows + r;
      float x = s[r] * p.scale;
      if (p.softcap > 0.f) x = p.softcap * tanhf(x / p.softcap);
      const common::KeyRange keys = band(i);
      const bool visible = i < p.Sq && j >= keys.lo && j < keys.hi;
      if (visible) {
        if (p.key_padding.data != nullptr) x += cuda::mask_term(p.key_padding, b, h, i, j);
        if (p.mask.data != nullptr) x += cuda::mask_term(p.mask, b, h, i, j);
      } else {
        x = -INFINITY;
      }
      const float m_new = fmaxf(m[r], warp_max(x));
      const float base = m_new == -INFINITY ? 0.f : m_new;  // nothing visible yet: weights 0
      const float correction = expf(m[r] - base);
      const float w = expf(x - base);
      l[r] = l[r] * correction + warp_sum(w);
      m[r] = m_new;
#pragma unroll
      for (int c = 0; c < kChunks; ++c) o[r][c] *= correction;
      for (int jj = 0; jj < kKeys; ++jj) {
        const float wj = __shfl_sync(0xffffffffu, w, jj);
#pragma unroll
        for (int c = 0; c < kChunks; ++c) {
          const int d = lane + 32 * c;
          if (d < D) o[r][c] = fmaf(wj, sV[jj * D + d], o[r][c]);
        }
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int i = row0 + warp * kRows + r;
    if (i >= p.Sq) continue;
    const float inv = l[r] == 0.f ? 0.f : 1.f / l[r];
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + 32 * c;
      if (d < D) {
        p.out[b * p.os.sb + static_cast<std::int64_t>(i) * p.os.ss + h * p.os.sh + d * p.os.sd] =
            o[r][c] * inv;
      }
    }
    if (lane == 0 && p.lse.data != nullptr) {
      p.lse.data[b * p.lse.sb + h * p.lse.sh + static_cast<std::int64_t>(i) * p.lse.sq] =
          l[r] == 0.f ? -INFINITY : m[r] + logf(l[r]);
    }
  }
}

template <int kChunks>
void launch_f32(const SimtParams& p, int B, cudaStream_t stream) {
  static std::atomic<std::uint64_t> opted_in{0};
  cuda::allow_shared_memory(reinterpret_cast<const void*>(efficient_f32_kernel<kChunks>),
                            smem_for(kChunks * 32), opted_in);
  const dim3 grid((p.Sq + kBlockRows - 1) / kBlockRows, p.Hq, B);
  efficient_f32_kernel<kChunks><<<grid, kWarps * 32, smem_for(p.D), stream>>>(p);
  ATTEND_CUDA_CHECK_LAUNCH("efficient_f32_kernel");
}

}  // namespace

void run_f32(const Problem& pr) {
  SimtParams p{};
  p.q = static_cast<const float*>(pr.q.data);
  p.k = static_cast<const float*>(pr.k.data);
  p.v = static_cast<const float*>(pr.v.data);
  p.out = static_cast<float*>(pr.out.data);
  p.qs = pr.q, p.ks = pr.k, p.vs = pr.v, p.os = pr.out;
  p.lse = pr.lse;
  p.mask = pr.mask, p.key_padding = pr.key_padding;
  p.Hq = static_cast<int>(pr.Hq);
  p.group = static_cast<int>(pr.group());
  p.Sq = static_cast<int>(pr.Sq), p.Sk = static_cast<int>(pr.Sk), p.D = static_cast<int>(pr.D);
  p.scale = static_cast<float>(pr.scale);
  p.softcap = static_cast<float>(pr.softcap);
  p.align = pr.align;
  p.window_left = pr.window_left, p.window_right = pr.window_right;
  const cudaStream_t stream = cuda::stream_of(pr);
  const int B = static_cast<int>(pr.B);
  switch ((p.D + 31) / 32) {
    case 1:
      return launch_f32<1>(p, B, stream);
    case 2:
      return launch_f32<2>(p, B, stream);
    case 3:
      return launch_f32<3>(p, B, stream);
    case 4:
      return launch_f32<4>(p, B, stream);
    case 5:
      return launch_f32<5>(p, B, stream);
    case 6:
      return launch_f32<6>(p, B, stream);
    case 7:
      return launch_f32<7>(p, B, stream);
    default:
      return launch_f32<8>(p, B, stream);
  }
}

}  // namespace attend::efficient
