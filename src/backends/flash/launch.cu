// From a resolved Problem to kernel launches: lower it to FlashParams, pack key-padded K/V,
// decide whether to split the keys, pick the instantiation, and combine the splits.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

#include "attend/error.hpp"
#include "backends/flash/kernels.hpp"
#include "backends/flash/launch.hpp"
#include "backends/flash/tile_config.hpp"
#include "core/cuda_devices.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"
#include "flash_head_dims.hpp"

namespace attend::flash {
namespace {

template <int... kDims>
struct HeadDims {
  // Calls f.template operator()<kD>() for the compiled head dim equal to d.
  template <class F>
  static bool visit(int d, F&& f) {
    return ((d == kDims ? (f.template operator()<kDims>(), true) : false) || ...);
  }
};
using Compiled = HeadDims<ATTEND_FLASH_HEAD_DIM_LIST>;

constexpr float kLog2e = 1.4426950408889634f;

FlashParams lower(const Problem& pr) {
  FlashParams p;
  p.q = pr.q.data;
  p.k = pr.k.data;
  p.v = pr.v.data;
  p.out = pr.out.data;
  p.q_sb = pr.q.sb, p.q_ss = pr.q.ss, p.q_sh = pr.q.sh;
  p.k_sb = pr.k.sb, p.k_ss = pr.k.ss, p.k_sh = pr.k.sh;
  p.v_sb = pr.v.sb, p.v_ss = pr.v.ss, p.v_sh = pr.v.sh;
  p.o_sb = pr.out.sb, p.o_ss = pr.out.ss, p.o_sh = pr.out.sh;
  if (pr.lse.present()) {
    p.lse = pr.lse.data;
    p.lse_sb = pr.lse.sb, p.lse_sh = pr.lse.sh, p.lse_sq = pr.lse.sq;
  }
  if (pr.varlen) {
    p.cu_q = pr.cu_seqlens_q;
    p.cu_k = pr.cu_seqlens_k;
  }
  p.B = static_cast<int>(pr.B);
  p.Hq = static_cast<int>(pr.Hq);
  p.Hkv = static_cast<int>(pr.Hkv);
  p.group = static_cast<int>(pr.group());
  p.Sq = static_cast<int>(pr.Sq);
  p.Sk = static_cast<int>(pr.Sk);
  p.D = static_cast<int>(pr.D);
  if (pr.softcap > 0) {
    p.score_scale = static_cast<float>(pr.scale / pr.softcap);
    p.softcap_log2 = static_cast<float>(pr.softcap) * kLog2e;
  } else {
    p.score_scale = static_cast<float>(pr.scale) * kLog2e;
  }
  // Windows are clamped by the resolver to the reachable distance, so they fit in int.
  p.window_left = static_cast<int>(pr.window_left);
  p.window_right = static_cast<int>(pr.window_right);
  p.bottom_right = pr.align == Align::bottom_right;
  p.dropout_p = static_cast<float>(pr.dropout_p);
  p.dropout_scale = pr.dropout_p > 0 ? static_cast<float>(1.0 / (1.0 - pr.dropout_p)) : 1.f;
  p.dropout_seed = pr.dropout_seed;
  p.dropout_offset = pr.dropout_offset;
  return p;
}

// Splitting the keys pays when the (row tile, head, batch) blocks cannot fill the GPU: pick
// the smallest split count whose last wave is nearly as full as the best one's, keeping at
// least two key tiles per split.
int choose_splits(std::int64_t blocks, int key_tiles, int slots) {
  if (blocks >= slots * 4 / 5 || key_tiles < 4) return 1;
  const int max_splits = std::min(64, key_tiles / 2);
  auto efficiency = [&](int s) {
    const double work = static_cast<double>(blocks) * s;
    return work / (std::ceil(work / slots) * slots);
  };
  double best = 0;
  for (int s = 1; s <= max_splits; ++s) best = std::max(best, efficiency(s));
  for (int s = 1; s <= max_splits; ++s) {
    if (efficiency(s) >= 0.85 * best) return s;
  }
  return 1;
}

template <class T>
void dispatch(const FlashParams& p, int kernel_dim, bool features, cudaStream_t stream) {
  const bool found =
      Compiled::visit(kernel_dim, [&]<int kD>() { launch_fwd<T, kD>(p, features, stream); });
  if (!found) throw Error(Code::head_dim, "attend: flash has no kernel for this head dim");
  if (p.num_splits > 1) launch_combine<T>(p, stream);
}

}  // namespace

void run(const Problem& pr) {
  if (pr.B == 0 || pr.Hq == 0 || pr.Sq == 0) return;
  const int kernel_dim = kernel_head_dim(pr.D);
  cuda::DeviceGuard guard(pr.device.index);
  const cudaStream_t stream = cuda::stream_of(pr);
  FlashParams p = lower(pr);
  constexpr std::size_t kElementBytes = 2;  // fp16 and bf16

  // Workspace: packed K/V, key slots and cu_seqlens_k for key padding; split-KV partials.
  const bool pack_keys = pr.key_padding.present();
  const auto B = static_cast<std::size_t>(pr.B), Sk = static_cast<std::size_t>(pr.Sk);
  const std::size_t packed_bytes =
      pack_keys ? cuda::align_up(B * Sk * static_cast<std::size_t>(pr.Hkv * pr.D) * kElementBytes)
                : 0;
  const std::size_t slots_bytes = pack_keys ? cuda::align_up((B * Sk + B) * 4) : 0;
  const std::size_t cu_k_bytes = pack_keys ? cuda::align_up((B + 1) * 4) : 0;

  const core::CudaDeviceInfo* dev = core::cuda_device(pr.device.index);
  int block_m = 0, block_n = 0, blocks_per_sm = 0;
  Compiled::visit(kernel_dim, [&]<int kD>() {
    block_m = TileConfig<kD>::kBlockM;
    block_n = TileConfig<kD>::kBlockN;
    blocks_per_sm = TileConfig<kD>::kMinBlocks;
  });
  if (block_m == 0) throw Error(Code::head_dim, "attend: flash has no kernel for this head dim");
  const int m_blocks = (p.Sq + block_m - 1) / block_m;
  const int slots = (dev ? dev->sm_count : 108) * blocks_per_sm;
  p.num_splits = choose_splits(static_cast<std::int64_t>(m_blocks) * p.Hq * p.B,
                               (p.Sk + block_n - 1) / block_n, slots);
  const std::size_t partial_rows =
      p.num_splits > 1 ? static_cast<std::size_t>(p.num_splits) * p.B * p.Hq * p.Sq : 0;
  const std::size_t o_partial_bytes = cuda::align_up(partial_rows * p.D * 4);
  const std::size_t lse_partial_bytes = cuda::align_up(partial_rows * 4);

  const std::size_t total =
      2 * packed_bytes + slots_bytes + cu_k_bytes + o_partial_bytes + lse_partial_bytes;
  std::optional<cuda::WorkspaceLease> lease;
  if (total > 0) lease.emplace(pr.device.index, stream, total);
  std::size_t at = 0;
  auto carve = [&](std::size_t bytes) {
    void* ptr = lease->as<char>(at);
    at += bytes;
    return ptr;
  };

  if (pack_keys) {
    KeyPacking kp;
    kp.mask = static_cast<const std::uint8_t*>(pr.key_padding.data);
    kp.mask_sb = pr.key_padding.sb;
    kp.mask_sk = pr.key_padding.sk;
    kp.B = p.B, kp.Sk = p.Sk, kp.Hkv = p.Hkv, kp.D = p.D;
    kp.element_bytes = static_cast<int>(kElementBytes);
    kp.k = p.k, kp.v = p.v;
    kp.k_sb = p.k_sb, kp.k_ss = p.k_ss, kp.k_sh = p.k_sh;
    kp.v_sb = p.v_sb, kp.v_ss = p.v_ss, kp.v_sh = p.v_sh;
    kp.k_packed = carve(packed_bytes);
    kp.v_packed = carve(packed_bytes);
    kp.scratch = static_cast<std::int32_t*>(carve(slots_bytes));
    kp.cu_k = static_cast<std::int32_t*>(carve(cu_k_bytes));
    launch_key_packing(kp, stream);
    p.k = kp.k_packed;
    p.v = kp.v_packed;
    p.cu_k = kp.cu_k;
    p.k_sb = p.v_sb = 0;
    p.k_ss = p.v_ss = static_cast<std::int64_t>(p.Hkv) * p.D;
    p.k_sh = p.v_sh = p.D;
  }
  if (p.num_splits > 1) {
    p.o_partial = static_cast<float*>(carve(o_partial_bytes));
    p.lse_partial = static_cast<float*>(carve(lse_partial_bytes));
  }

  // The plain kernel folds a positive scale into its exponent; anything else takes the general one.
  const bool features = pr.softcap > 0 || pr.dropout_p > 0 || !(pr.scale > 0);
  if (pr.dtype == DType::bf16) {
    dispatch<__nv_bfloat16>(p, kernel_dim, features, stream);
  } else {
    dispatch<__half>(p, kernel_dim, features, stream);
  }
}

}  // namespace attend::flash
