// The kernels of cuda_math, as launch functions the driver (run.cpp) calls for one chunk (see
// plan.hpp for the buffers). Every launch is enqueued on the given stream and checked.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "attend/problem.hpp"

namespace attend::cuda_math {

// Which rows a chunk holds, and where each sequence's rows start in the user's tensors.
struct Geometry {
  std::int64_t Hkv = 1, group = 1;     // KV heads; query heads per KV head
  std::int64_t unit0 = 0, units = 0;   // the chunk's units: unit = b * Hkv + kv_head
  std::int64_t row0 = 0, rows = 0;     // the chunk's query rows, indices within each sequence
  std::int64_t Sq = 0, Sk = 0;         // max query / key lengths; Sk = key rows of each unit
  const std::int32_t* cu_q = nullptr;  // varlen: device prefix sums (B + 1); nullptr: dense
  const std::int32_t* cu_k = nullptr;
  std::int64_t total_q = 0, total_k = 0;  // varlen: rows of the packed tensors
};

// q rows of the chunk -> fp32 [unit][group * rows][D]; rows past a sequence's end are 0.
void gather_queries(const Problem& p, const Geometry& g, float* q, cudaStream_t stream);
// k and v rows of the chunk's units -> fp32 [unit][Sk][D] and [unit][Sk][Dv], 0-padded.
void gather_keys_values(const Problem& p, const Geometry& g, float* k, float* v,
                        cudaStream_t stream);

// In place over the raw scores Q K^T ([unit][group * rows][Sk]): scale, softcap, masks, the
// visibility band and key length, softmax, LSE (written to p.lse when present), dropout. Rows
// past a sequence's end are left as they are.
void softmax(const Problem& p, const Geometry& g, float* scores, cudaStream_t stream);

// O ([unit][group * rows][Dv]) -> p.out in its dtype and strides, valid rows only. An element
// the GEMM made NaN or Inf is recomputed from P and V skipping zero weights, so a non-finite V
// row that no weight reaches stays out of the output (docs/semantics.md). o == nullptr (Sk = 0)
// writes zeros.
void scatter_output(const Problem& p, const Geometry& g, const float* o, const float* probs,
                    const float* v, cudaStream_t stream);

}  // namespace attend::cuda_math
