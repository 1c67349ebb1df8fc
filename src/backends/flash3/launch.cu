// From a resolved Problem to one persistent flash3 launch: lower it to FlashParams (packing
// key-padded K/V first), describe Q, K, V and O to TMA (maps.cpp), size the grid and its
// shared tail (tail.cpp) or tile queue (queue.cpp), dispatch.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include "attend/error.hpp"
#include "backends/flash/launch.hpp"
#include "backends/flash/lower.hpp"
#include "backends/flash3/launch.hpp"
#include "backends/flash3/maps.hpp"
#include "backends/flash3/queue.hpp"
#include "backends/flash3/tail.hpp"
#include "backends/flash3/tiles.hpp"
#include "core/cuda_devices.hpp"
#include "core/text.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::flash3 {

int sm_count_of(const Problem& pr) {
  const core::CudaDeviceInfo* dev = core::cuda_device(pr.device.index);
  return dev != nullptr ? dev->sm_count : 132;
}

int schedule_grid(const Problem& pr, Flash3Params& p) {
  p.m_blocks = static_cast<int>((pr.Sq + kBlockM - 1) / kBlockM);
  p.tiles = static_cast<int>(p.m_blocks * pr.Hq * pr.B);
  return std::min(p.tiles, sm_count_of(pr));
}

void run(const Problem& pr) {
  if (pr.B == 0 || pr.Hq == 0 || pr.Sq == 0) return;
  const long long tiles = (pr.Sq + kBlockM - 1) / kBlockM * pr.Hq * pr.B;
  if (prefers_split_kv(tiles, sm_count_of(pr), pr.Sk) && flash::kernel_head_dim(pr.D) != 0) {
    flash::run(pr);
    return;
  }
  const int kernel_dim = kernel_head_dim(pr.D);
  if (kernel_dim == 0)
    throw Error(Code::head_dim, "attend: flash3 has no kernel for this head dim");
  cuda::DeviceGuard guard(pr.device.index);
  const cudaStream_t stream = cuda::stream_of(pr);
  Flash3Params p;
  flash::FlashParams& f = p.f;
  f = flash::lower(pr);

  // One workspace for the call: the packed keys, then the tail's or the queue's room.
  std::optional<cuda::WorkspaceLease> lease;
  std::size_t packed = 0;
  if (pr.key_padding.present()) {
    packed = cuda::align_up(flash::key_packing_bytes(pr));
    lease.emplace(pr.device.index, stream, packed + kQueueBytes);
    flash::pack_padded_keys(pr, f, lease->data(), stream);
  }

  const int grid = schedule_grid(pr, p);
  const bool general = pr.softcap > 0 || !(pr.scale > 0);
  p.tail = plan_tail(p, grid, key_tile(kernel_dim));
  p.queue = plan_queue(p, grid);
  if (p.tail.tiles > 0) {  // packed keys are never uniform: no lease yet
    lease.emplace(pr.device.index, stream, tail_bytes(p.tail, grid, kernel_dim));
    place_tail(p.tail, lease->data(), grid, kernel_dim, stream);
  } else if (p.queue.group > 0) {
    if (!lease) lease.emplace(pr.device.index, stream, kQueueBytes);
    place_queue(p.queue, lease->as<char>(packed), stream);
  }

  const TensorMaps maps = tensor_maps(pr, f, kernel_dim);
  flash::HeadDims<64, 128, 256>::visit(kernel_dim, [&]<int kD>() {
    if (pr.dtype == DType::bf16) {
      launch_fwd<__nv_bfloat16, kD>(maps, p, general, grid, stream);
    } else {
      launch_fwd<__half, kD>(maps, p, general, grid, stream);
    }
  });
}

}  // namespace attend::flash3
