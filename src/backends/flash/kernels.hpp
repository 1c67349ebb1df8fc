// The flash device work launch.cu composes: the forward instantiations, the split-KV combine,
// and the key-padding compaction.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/flash/params.hpp"

namespace attend::flash {

// Which code a kernel instantiation carries beyond the plain softmax.
enum class Variant : int {
  plain,     // positive scale folded into the exponent
  features,  // any scale, softcap, dropout
  masks,     // any scale and softcap, attn_mask and key padding added to the scores; no dropout
};

// Instantiated per head dim in the generated flash_hdim<D>.cu files; T is __half or
// __nv_bfloat16.
template <class T, int kD>
void launch_fwd(const FlashParams& p, Variant variant, cudaStream_t stream);

// Merges p.num_splits partial results into p.out (dtype T) and p.lse.
template <class T>
void launch_combine(const FlashParams& p, cudaStream_t stream);

// Key padding: keeps the keys whose mask is true, in order, for every sequence. Writes the
// packed K and V (contiguous (token, Hkv, D)) and cu_k (B + 1 prefix sums). `scratch` holds
// B·Sk + B ints. Any pattern works: left or right padding and gaps alike.
struct KeyPacking {
  const std::uint8_t* mask = nullptr;
  std::int64_t mask_sb = 0, mask_sk = 0;
  int B = 0, Sk = 0, Hkv = 0, D = 0;
  int element_bytes = 2;
  const void* k = nullptr;
  const void* v = nullptr;
  std::int64_t k_sb = 0, k_ss = 0, k_sh = 0;
  std::int64_t v_sb = 0, v_ss = 0, v_sh = 0;
  void* k_packed = nullptr;
  void* v_packed = nullptr;
  std::int32_t* cu_k = nullptr;
  std::int32_t* scratch = nullptr;
};
void launch_key_packing(const KeyPacking& kp, cudaStream_t stream);

}  // namespace attend::flash
