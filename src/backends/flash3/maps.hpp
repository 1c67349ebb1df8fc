// The four TMA tensor maps of one call (Q, K, V, O), each a 4-D view (head dim, token, head,
// batch) of a tensor with 128-byte swizzled boxes of 64 columns; and the instantiations
// launch.cu dispatches to.
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "attend/problem.hpp"
#include "backends/flash3/params.hpp"

namespace attend::flash3 {

struct TensorMaps {
  CUtensorMap q, k, v, o;
};

// A (D, rows, heads, batches) view with element strides (1, ss, sh, sb). A dimension that never
// steps (extent 1, or an empty tensor's zero stride) gets any stride TMA accepts.
struct View {
  const void* data;
  std::int64_t D, rows, heads, batches;
  std::int64_t ss, sh, sb;
};

enum class MapElement { bf16, f16, byte };

// The map of a view read or written in 128-byte swizzled boxes of box_cols × box_rows elements
// (box_cols · element size <= 128). `what` names the tensor in the error TMA's refusal raises.
CUtensorMap encode_view(const View& v, MapElement element, int box_cols, int box_rows,
                        const char* what);

// The maps of a lowered problem for the kernel_dim instantiation (64, 128 or 256): Q in boxes
// of the query tile, O of one warpgroup's rows, K and V of the instantiation's key tile.
TensorMaps tensor_maps(const Problem& pr, const flash::FlashParams& f, int kernel_dim);

// Instantiated per head dim (64, 128, 256) in the generated flash3_hdim<D>.cu files; T is
// __half or __nv_bfloat16. `general`: softcap or a non-positive scale.
template <class T, int kD>
void launch_fwd(const TensorMaps& maps, const Flash3Params& p, bool general, int grid,
                cudaStream_t stream);

}  // namespace attend::flash3
