// The quantization pass in front of the sage kernel: per-row int8 Q, smoothed per-key int8 K,
// and V in fp16 (bf16 inputs of sage) or fp8 (sage_fp8), with a power-of-two step per channel.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace attend::sage {

// Sources follow the flash conventions (element strides; cu_q / cu_k index packed tokens, and
// either may be null for dense batches). Destinations hold rows of `kernel_dim` elements in
// (token, head) order, tokens numbered as the sources' (cu[b] + i, or b·S + i).
struct Quantize {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  std::int64_t q_sb = 0, q_ss = 0, q_sh = 0;
  std::int64_t k_sb = 0, k_ss = 0, k_sh = 0;
  std::int64_t v_sb = 0, v_ss = 0, v_sh = 0;
  const std::int32_t* cu_q = nullptr;
  const std::int32_t* cu_k = nullptr;
  int B = 0, Hq = 0, Hkv = 0, group = 1, Sq = 0, Sk = 0, D = 0, kernel_dim = 0;
  bool bf16 = false;
  float q_sign = 1.f;       // -1 for a negative softmax scale: Q is negated instead
  float score_scale = 0.f;  // |softmax scale| · log2(e), folded into q_scale
  float lse_scale = 0.f;    // |softmax scale|, for lse_bias

  std::int8_t* q8 = nullptr;
  std::int8_t* k8 = nullptr;
  void* v16 = nullptr;  // __half rows; null: V stays as it is (fp16 inputs)
  // Or V in fp8 e4m3, transposed for sage_fp8 (dense batches only): per (sequence, kv head), 128
  // channel rows of V's high plane, then 128 of its low plane (scales.cuh: split_e4m3), each of
  // key_step_rows(Sk) keys, keys in fp8_key_of_slot order within each 32, zeros past Sk.
  std::uint8_t* v8t = nullptr;
  float* q_scale = nullptr;
  float* k_scale = nullptr;   // [Hkv][B][key_step_rows(Sk)]
  float* lse_bias = nullptr;  // null: no LSE
  // The mean of K over each sequence's keys, per (kv head, sequence, channel): the last
  // statistics block of a (kv head, sequence) to finish adds the key blocks' sums (k_partial,
  // [key block][kv head][sequence][channel]) in a fixed order, so that a run repeats bit for
  // bit, and counts itself in stats_done ([kv head][sequence], zeroed by the caller).
  // v_max: the largest |V| per (kv head, sequence, channel), zeroed by the caller, and
  // v_inv_step the inverse of the step V's copy is stored with; both null without v16 or v8t.
  float* k_mean = nullptr;
  float* k_partial = nullptr;
  std::uint32_t* stats_done = nullptr;
  std::uint32_t* v_max = nullptr;
  float* v_inv_step = nullptr;
};

// Keys per block of the statistics pass: k_partial holds ceil(Sk / kStatsRows) blocks.
constexpr int kStatsRows = 64;

// Enqueues the passes on `stream`: K means and V maxima, then Q, K and V rows (or V's fp8 copy).
void launch_quantize(const Quantize& args, cudaStream_t stream);

}  // namespace attend::sage
