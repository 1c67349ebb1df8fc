// The plain parameter block every flash kernel takes: pointers, int64 element strides, sequence
// bounds and the softmax constants, lowered once from a Problem by launch.cu.
#pragma once

#include <cstdint>

#include "attend/problem.hpp"

namespace attend::flash {

struct FlashParams {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  // Element strides of (batch, token, head); the head-dim stride is 1. Packed sequences have a
  // batch stride of 0 and index tokens from their cu_seqlens start.
  std::int64_t q_sb = 0, q_ss = 0, q_sh = 0;
  std::int64_t k_sb = 0, k_ss = 0, k_sh = 0;
  std::int64_t v_sb = 0, v_ss = 0, v_sh = 0;
  std::int64_t o_sb = 0, o_ss = 0, o_sh = 0;

  float* lse = nullptr;  // optional, natural log
  std::int64_t lse_sb = 0, lse_sh = 0, lse_sq = 0;

  // Sequence b's query rows are [cu_q[b], cu_q[b+1]) when cu_q is set, else [0, Sq) of batch b;
  // likewise for keys. Either may be set alone (key padding packs only K/V).
  const std::int32_t* cu_q = nullptr;
  const std::int32_t* cu_k = nullptr;

  int B = 0, Hq = 0, Hkv = 0, group = 1;
  int Sq = 0, Sk = 0;  // dense lengths, or the maxima over packed sequences
  int D = 0;           // the problem's head dim (the kernel's may be larger, zero-padded)

  float score_scale = 0.f;   // multiplies q·k: scale·log2(e), or scale/softcap with softcap
  float softcap_log2 = 0.f;  // softcap·log2(e); 0 = no softcap
  int window_left = -1, window_right = -1;  // visibility band around the aligned position
  bool bottom_right = false;

  float dropout_p = 0.f;
  float dropout_scale = 1.f;  // 1 / (1 - p)
  std::uint64_t dropout_seed = 0, dropout_offset = 0;

  // Added to the scores by the masked variant (the `efficient` backend): attn_mask and key
  // padding in (batch, head, query, key) strides, 0 strides broadcasting.
  MaskRef mask, key_padding;
  // Split-KV: each of num_splits blocks per (row tile, head) covers a share of the key tiles
  // and writes normalised fp32 partials and their LSE; combine.cu merges them.
  int num_splits = 1;
  float* o_partial = nullptr;    // [split][b][h][Sq][D]
  float* lse_partial = nullptr;  // [split][b][h][Sq]
};

}  // namespace attend::flash
