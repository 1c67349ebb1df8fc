// From a resolved Problem to the sage_fp8 launches: quantize (int8 Q and K, V's transposed fp8
// copy) into one workspace, describe the copies to TMA, and run them on flash3's persistent
// schedule (its shared tail or tile queue where the problem wants one).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <atomic>
#include <cstdint>

#include "attend/error.hpp"
#include "backends/flash/lower.hpp"
#include "backends/flash3/launch.hpp"
#include "backends/flash3/maps.hpp"
#include "backends/flash3/queue.hpp"
#include "backends/flash3/tail.hpp"
#include "backends/sage/fp8_kernel.cuh"
#include "backends/sage/launch.hpp"
#include "backends/sage/workspace.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::sage {
namespace {

flash3::TensorMaps fp8_maps(const Problem& pr, const flash::FlashParams& f, const Quantize& qa) {
  using flash3::encode_view;
  using flash3::MapElement;
  constexpr std::int64_t kd = fp8::kD;
  const std::int64_t B = pr.B, Hq = pr.Hq, Hkv = pr.Hkv, Sq = pr.Sq, Sk = pr.Sk;
  flash3::TensorMaps maps{};
  maps.q = encode_view({qa.q8, kd, Sq, Hq, B, kd * Hq, kd, kd * Hq * Sq}, MapElement::byte, 128,
                       flash3::kBlockM, "q's int8 copy");
  maps.o = encode_view({f.out, pr.D, Sq, Hq, B, f.o_ss, f.o_sh, f.o_sb},
                       pr.dtype == DType::bf16 ? MapElement::bf16 : MapElement::f16, 64, 64, "out");
  if (Sk > 0) {
    maps.k = encode_view({qa.k8, kd, Sk, Hkv, B, kd * Hkv, kd, kd * Hkv * Sk}, MapElement::byte,
                         128, fp8::kN, "k's int8 copy");
    const std::int64_t cols = key_step_rows(static_cast<int>(Sk));
    maps.v = encode_view({qa.v8t, cols, 2 * kd, Hkv, B, cols, 2 * kd * cols, Hkv * 2 * kd * cols},
                         MapElement::byte, fp8::kN, 2 * kd, "v's fp8 copy");
  }
  return maps;
}

template <class T>
void launch_fp8(const flash3::TensorMaps& maps, const Fp8Params& p, int grid, cudaStream_t stream) {
  constexpr int kSmem = fp8::Plan::kAlloc;
  auto kernel = fp8::sage_fp8_kernel<T>;
  static std::atomic<std::uint64_t> opted_in{0};
  cuda::allow_shared_memory(reinterpret_cast<const void*>(kernel), kSmem, opted_in);
  kernel<<<grid, flash3::kThreads, kSmem, stream>>>(maps.q, maps.k, maps.v, maps.o, p);
  ATTEND_CUDA_CHECK_LAUNCH("sage_fp8_kernel");
}

}  // namespace

void run_fp8(const Problem& pr) {
  if (pr.B == 0 || pr.Hq == 0 || pr.Sq == 0) return;
  if (pr.D > fp8::kD) {
    throw Error(Code::head_dim, "attend: sage_fp8 has a kernel for head dims up to 128");
  }
  cuda::DeviceGuard guard(pr.device.index);
  const cudaStream_t stream = cuda::stream_of(pr);
  Fp8Params sp;
  flash3::Flash3Params& p = sp.base;
  p.f = flash::lower(pr);
  const int grid = flash3::schedule_grid(pr, p);
  p.tail = flash3::plan_tail(p, grid, fp8::kN);
  p.queue = flash3::plan_queue(p, grid);

  // One workspace: the quantized copies, then the tail's or the queue's room.
  const Workspace z = workspace_of(pr, fp8::kD, ValueCopy::fp8_transposed);
  const std::size_t schedule = p.tail.tiles > 0    ? flash3::tail_bytes(p.tail, grid, fp8::kD)
                               : p.queue.group > 0 ? flash3::kQueueBytes
                                                   : 0;
  cuda::WorkspaceLease lease(pr.device.index, stream, z.total() + schedule);
  const Quantize qa =
      quantize_into(pr, p.f, fp8::kD, ValueCopy::fp8_transposed, z, lease.as<char>(), stream);
  if (p.tail.tiles > 0) {
    flash3::place_tail(p.tail, lease.as<char>(z.total()), grid, fp8::kD, stream);
  } else if (p.queue.group > 0) {
    flash3::place_queue(p.queue, lease.as<char>(z.total()), stream);
  }
  sp.q_scale = qa.q_scale;
  sp.k_scale = qa.k_scale;
  sp.v_max = qa.v_max;
  sp.lse_bias = qa.lse_bias;

  const flash3::TensorMaps maps = fp8_maps(pr, p.f, qa);
  if (pr.dtype == DType::bf16) {
    launch_fp8<__nv_bfloat16>(maps, sp, grid, stream);
  } else {
    launch_fp8<__half>(maps, sp, grid, stream);
  }
}

}  // namespace attend::sage
