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
#include "backends/flash/lower.hpp"
#include "backends/flash/tile_config.hpp"
#include "core/cuda_devices.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"
#include "flash_head_dims.hpp"

namespace attend::flash {
namespace {

using Compiled = HeadDims<ATTEND_FLASH_HEAD_DIM_LIST>;

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
void dispatch(const FlashParams& p, int kernel_dim, Variant variant, cudaStream_t stream) {
  const bool found =
      Compiled::visit(kernel_dim, [&]<int kD>() { launch_fwd<T, kD>(p, variant, stream); });
  if (!found) throw Error(Code::head_dim, "attend: flash has no kernel for this head dim");
  if (p.num_splits > 1) launch_combine<T>(p, stream);
}

// `masks`: attn_mask and key padding go into the scores; otherwise key padding packs the keys.
void launch(const Problem& pr, bool masks) {
  if (pr.B == 0 || pr.Hq == 0 || pr.Sq == 0) return;
  const int kernel_dim = kernel_head_dim(pr.D);
  cuda::DeviceGuard guard(pr.device.index);
  const cudaStream_t stream = cuda::stream_of(pr);
  FlashParams p = lower(pr);

  // Workspace: packed K/V for key padding; split-KV partials.
  const bool pack_keys = !masks && pr.key_padding.present();
  if (masks) {
    p.mask = pr.mask;
    p.key_padding = pr.key_padding;
  }
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
      (pack_keys ? key_packing_bytes(pr) : 0) + o_partial_bytes + lse_partial_bytes;
  std::optional<cuda::WorkspaceLease> lease;
  if (total > 0) lease.emplace(pr.device.index, stream, total);
  std::size_t at = 0;
  auto carve = [&](std::size_t bytes) {
    void* ptr = lease->as<char>(at);
    at += bytes;
    return ptr;
  };

  if (pack_keys) pack_padded_keys(pr, p, carve(key_packing_bytes(pr)), stream);
  if (p.num_splits > 1) {
    p.o_partial = static_cast<float*>(carve(o_partial_bytes));
    p.lse_partial = static_cast<float*>(carve(lse_partial_bytes));
  }

  // The plain kernel folds a positive scale into its exponent; anything else takes the general one.
  const Variant variant = masks ? Variant::masks
                          : pr.softcap > 0 || pr.dropout_p > 0 || !(pr.scale > 0)
                              ? Variant::features
                              : Variant::plain;
  if (pr.dtype == DType::bf16) {
    dispatch<__nv_bfloat16>(p, kernel_dim, variant, stream);
  } else {
    dispatch<__half>(p, kernel_dim, variant, stream);
  }
}

}  // namespace

void run(const Problem& pr) {
  launch(pr, false);
}

void run_masked(const Problem& pr) {
  launch(pr, true);
}

}  // namespace attend::flash
