// The small device steps around a cuDNN SDPA call: masks turned into its bias, packed
// sequences into lengths and ragged offsets, dropout's seed and offset as device scalars, and
// the rows of a problem without keys.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "attend/problem.hpp"
#include "backends/cudnn/lowered.hpp"

namespace attend::cudnn {

// Writes the bias laid out as `l.bias` (q's dtype): key padding and attn_mask as additive terms,
// false entries as -inf; the padding columns of each row are 0.
void convert_bias(const Problem& p, const Lowered& l, void* bias, cudaStream_t stream);

// Ragged tables from cu_seqlens, int32, in this order: sequence lengths of q (B) and of k (B),
// then ragged offsets in elements (B + 1 each) of q, k, v and out.
struct RaggedTables {
  std::int32_t* seq_q;
  std::int32_t* seq_k;
  std::int32_t* offset_q;
  std::int32_t* offset_k;
  std::int32_t* offset_v;
  std::int32_t* offset_o;
};
RaggedTables ragged_tables(const Problem& p, void* workspace, cudaStream_t stream);

// Dropout's seed and offset as two int64 device scalars at `dst`.
void store_rng_state(const Problem& p, std::int64_t* dst, cudaStream_t stream);

// A problem without keys: every output row 0, every LSE -inf.
void fill_keyless(const Problem& p, cudaStream_t stream);

}  // namespace attend::cudnn
