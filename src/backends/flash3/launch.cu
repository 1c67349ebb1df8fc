// From a resolved Problem to one persistent flash3 launch: lower it to FlashParams (packing
// key-padded K/V first), describe Q, K, V and O to TMA, size the grid to the GPU, dispatch.
#include <cuda.h>
#include <cudaTypedefs.h>
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
#include "backends/flash3/tiles.hpp"
#include "core/cuda_devices.hpp"
#include "core/text.hpp"
#include "cuda/check.hpp"
#include "cuda/runtime.hpp"

namespace attend::flash3 {
namespace {

// The driver's tensor-map encoder, looked up once through the runtime (no link to libcuda).
PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static const PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    ATTEND_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000,
                                                       cudaEnableDefault, &found));
    if (found != cudaDriverEntryPointSuccess || fn == nullptr) {
      throw Error(Code::unavailable,
                  "attend: flash3 needs cuTensorMapEncodeTiled, which this CUDA driver lacks");
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  }();
  return encode;
}

// A (D, rows, heads, batches) view with element strides (1, ss, sh, sb), read or written in
// boxes of 64 columns × box_rows rows. A dimension that never steps (extent 1, or an empty
// tensor's zero stride) gets any stride TMA accepts.
struct View {
  const void* data;
  std::int64_t D, rows, heads, batches;
  std::int64_t ss, sh, sb;
};

CUtensorMap encode(const View& v, DType dtype, int box_rows, const char* what) {
  constexpr std::int64_t kElementBytes = 2;
  const std::uint64_t unit = static_cast<std::uint64_t>((v.D * kElementBytes + 15) / 16 * 16);
  auto stride = [&](std::int64_t s, std::int64_t extent) {
    return extent <= 1 || s <= 0 ? unit : static_cast<std::uint64_t>(s * kElementBytes);
  };
  const cuuint64_t dims[4] = {static_cast<cuuint64_t>(v.D),
                              static_cast<cuuint64_t>(std::max<std::int64_t>(v.rows, 1)),
                              static_cast<cuuint64_t>(v.heads),
                              static_cast<cuuint64_t>(std::max<std::int64_t>(v.batches, 1))};
  const cuuint64_t strides[3] = {stride(v.ss, v.rows), stride(v.sh, v.heads),
                                 stride(v.sb, v.batches)};
  const cuuint32_t box[4] = {64, static_cast<cuuint32_t>(box_rows), 1, 1};
  const cuuint32_t element_strides[4] = {1, 1, 1, 1};
  CUtensorMap map{};
  const CUresult r = tensor_map_encoder()(
      &map,
      dtype == DType::bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 4,
      const_cast<void*>(v.data), dims, strides, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
      CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    throw Error(Code::runtime,
                core::str("attend: flash3 could not describe ", what,
                          " to TMA (cuTensorMapEncodeTiled returned ", static_cast<int>(r), ")"));
  }
  return map;
}

}  // namespace

void run(const Problem& pr) {
  if (pr.B == 0 || pr.Hq == 0 || pr.Sq == 0) return;
  const core::CudaDeviceInfo* dev = core::cuda_device(pr.device.index);
  const int sm_count = dev != nullptr ? dev->sm_count : 132;
  const long long tiles = (pr.Sq + kBlockM - 1) / kBlockM * pr.Hq * pr.B;
  if (prefers_split_kv(tiles, sm_count, pr.Sk) && flash::kernel_head_dim(pr.D) != 0) {
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

  std::optional<cuda::WorkspaceLease> lease;
  if (pr.key_padding.present()) {
    lease.emplace(pr.device.index, stream, flash::key_packing_bytes(pr));
    flash::pack_padded_keys(pr, f, lease->as<char>(0), stream);
  }

  // Packed tensors are one long sequence of tokens; cu_seqlens place each sequence in it.
  const bool q_packed = f.cu_q != nullptr, k_packed = f.cu_k != nullptr;
  const std::int64_t q_rows = q_packed ? pr.total_q : pr.Sq;
  const std::int64_t k_rows = !k_packed ? pr.Sk : pr.varlen ? pr.total_k : pr.B * pr.Sk;
  const std::int64_t q_batches = q_packed ? 1 : pr.B, k_batches = k_packed ? 1 : pr.B;
  TensorMaps maps{};
  maps.q =
      encode({f.q, pr.D, q_rows, pr.Hq, q_batches, f.q_ss, f.q_sh, f.q_sb}, pr.dtype, kBlockM, "q");
  maps.o =
      encode({f.out, pr.D, q_rows, pr.Hq, q_batches, f.o_ss, f.o_sh, f.o_sb}, pr.dtype, 64, "out");
  p.m_blocks = static_cast<int>((pr.Sq + kBlockM - 1) / kBlockM);
  p.tiles = static_cast<int>(tiles);  // bounded by the backend's checks
  const int grid = std::min(p.tiles, sm_count);
  const bool general = pr.softcap > 0 || !(pr.scale > 0);

  flash::HeadDims<64, 128, 256>::visit(kernel_dim, [&]<int kD>() {
    // K and V boxes are the instantiation's key blocks. Without keys no block is ever loaded
    // (and the pointers may be null).
    if (k_rows > 0) {
      maps.k = encode({f.k, pr.D, k_rows, pr.Hkv, k_batches, f.k_ss, f.k_sh, f.k_sb}, pr.dtype,
                      Tiles<kD>::kBlockN, "k");
      maps.v = encode({f.v, pr.D, k_rows, pr.Hkv, k_batches, f.v_ss, f.v_sh, f.v_sb}, pr.dtype,
                      Tiles<kD>::kBlockN, "v");
    }
    if (pr.dtype == DType::bf16) {
      launch_fwd<__nv_bfloat16, kD>(maps, p, general, grid, stream);
    } else {
      launch_fwd<__half, kD>(maps, p, general, grid, stream);
    }
  });
}

}  // namespace attend::flash3
