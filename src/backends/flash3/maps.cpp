// TMA descriptions of a flash3 problem's tensors: the driver's encoder, reached through the
// runtime (no link to libcuda), over 4-D views of Q, K, V and O.
#include "backends/flash3/maps.hpp"

#include <cuda.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <cstdint>

#include "attend/error.hpp"
#include "backends/flash3/tiles.hpp"
#include "core/text.hpp"
#include "cuda/check.hpp"

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

}  // namespace

CUtensorMap encode_view(const View& v, MapElement element, int box_cols, int box_rows,
                        const char* what) {
  const std::int64_t element_bytes = element == MapElement::byte ? 1 : 2;
  const std::uint64_t unit = static_cast<std::uint64_t>((v.D * element_bytes + 15) / 16 * 16);
  auto stride = [&](std::int64_t s, std::int64_t extent) {
    return extent <= 1 || s <= 0 ? unit : static_cast<std::uint64_t>(s * element_bytes);
  };
  const cuuint64_t dims[4] = {static_cast<cuuint64_t>(v.D),
                              static_cast<cuuint64_t>(std::max<std::int64_t>(v.rows, 1)),
                              static_cast<cuuint64_t>(v.heads),
                              static_cast<cuuint64_t>(std::max<std::int64_t>(v.batches, 1))};
  const cuuint64_t strides[3] = {stride(v.ss, v.rows), stride(v.sh, v.heads),
                                 stride(v.sb, v.batches)};
  const cuuint32_t box[4] = {static_cast<cuuint32_t>(box_cols), static_cast<cuuint32_t>(box_rows),
                             1, 1};
  const cuuint32_t element_strides[4] = {1, 1, 1, 1};
  const CUtensorMapDataType type = element == MapElement::bf16  ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                                   : element == MapElement::f16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16
                                                                : CU_TENSOR_MAP_DATA_TYPE_UINT8;
  CUtensorMap map{};
  const CUresult r = tensor_map_encoder()(
      &map, type, 4, const_cast<void*>(v.data), dims, strides, box, element_strides,
      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    throw Error(Code::runtime,
                core::str("attend: could not describe ", what,
                          " to TMA (cuTensorMapEncodeTiled returned ", static_cast<int>(r), ")"));
  }
  return map;
}

namespace {

CUtensorMap encode(const View& v, DType dtype, int box_rows, const char* what) {
  return encode_view(v, dtype == DType::bf16 ? MapElement::bf16 : MapElement::f16, 64, box_rows,
                     what);
}

}  // namespace

TensorMaps tensor_maps(const Problem& pr, const flash::FlashParams& f, int kernel_dim) {
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
  // K and V boxes are the instantiation's key blocks. Without keys no block is ever loaded (and
  // the pointers may be null).
  if (k_rows > 0) {
    const int block_n = key_tile(kernel_dim);
    maps.k = encode({f.k, pr.D, k_rows, pr.Hkv, k_batches, f.k_ss, f.k_sh, f.k_sb}, pr.dtype,
                    block_n, "k");
    maps.v = encode({f.v, pr.D, k_rows, pr.Hkv, k_batches, f.v_ss, f.v_sh, f.v_sb}, pr.dtype,
                    block_n, "v");
  }
  return maps;
}

}  // namespace attend::flash3
