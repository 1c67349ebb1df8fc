// The workspace of a sage call: packed keys, the quantized copies of Q, K and V, their steps and
// the statistics behind them, carved from one lease; and the quantization pass over it.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "attend/problem.hpp"
#include "backends/flash/params.hpp"
#include "backends/sage/quantize.hpp"

namespace attend::sage {

// What becomes of V: used as it is (fp16 inputs of sage), copied to fp16 (bf16 inputs of
// sage), or copied to transposed fp8 (sage_fp8).
enum class ValueCopy { none, fp16, fp8_transposed };

// Bytes of each piece, in order, each 256-byte aligned.
struct Workspace {
  std::size_t packing = 0, q8 = 0, k8 = 0, v_copy = 0, q_scale = 0, k_scale = 0, lse_bias = 0,
              k_partial = 0, k_mean = 0, v_inv_step = 0, v_max = 0, stats_done = 0;
  std::size_t total() const {
    return packing + q8 + k8 + v_copy + q_scale + k_scale + lse_bias + k_partial + k_mean +
           v_inv_step + v_max + stats_done;
  }
};

Workspace workspace_of(const Problem& pr, int kernel_dim, ValueCopy copy);

// Packs key-padded K and V into `at` (z's bytes of it) when the problem has a key-padding mask
// (p then points at the packed keys), places the quantized copies after them, and enqueues the
// quantization on `stream`. Returns the pass's arguments: where every copy and step lives.
Quantize quantize_into(const Problem& pr, flash::FlashParams& p, int kernel_dim, ValueCopy copy,
                       const Workspace& z, char* at, cudaStream_t stream);

}  // namespace attend::sage
