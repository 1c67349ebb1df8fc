// A Params resolved once by the dispatcher: sizes named, layouts turned into canonical
// (batch, sequence, head, dim) strides, masks into (batch, head, query, key) strides with 0 for
// broadcast dimensions, causal and window folded into one visibility band. Backends read this,
// never the raw layout.
#pragma once

#include <cstdint>

#include "attend/params.hpp"
#include "attend/tensor.hpp"

namespace attend {

// A q/k/v/out tensor in canonical order. For THD, `sb` is 0 and the sequence index is a token
// index into the packed tensor (add the sequence's start from cu_seqlens).
struct TensorRef {
  void* data = nullptr;
  std::int64_t sb = 0, ss = 0, sh = 0, sd = 0;  // strides in elements
};

// A mask in (batch, head, query, key) order; 0 strides broadcast.
struct MaskRef {
  const void* data = nullptr;  // nullptr: no mask
  DType dtype = DType::boolean;
  std::int64_t sb = 0, sh = 0, sq = 0, sk = 0;
  bool present() const noexcept { return data != nullptr; }
};

// LSE output in (batch, head, query) order; THD: sb = 0 and query is the token index.
struct LseRef {
  float* data = nullptr;
  std::int64_t sb = 0, sh = 0, sq = 0;
  bool present() const noexcept { return data != nullptr; }
};

struct Problem {
  const Params* params = nullptr;  // the call's raw params (stream, original views)
  DType dtype = DType::f32;        // q/k/v element type
  DType out_dtype = DType::f32;
  Device device{};

  std::int64_t B = 0;   // batch (number of sequences for varlen)
  std::int64_t Sq = 0;  // query length (max over sequences for varlen)
  std::int64_t Sk = 0;  // key length (max over sequences for varlen)
  std::int64_t Hq = 0, Hkv = 0;
  std::int64_t D = 0, Dv = 0;

  bool varlen = false;
  const std::int32_t* cu_seqlens_q = nullptr;  // device pointers, B+1 entries, for varlen
  const std::int32_t* cu_seqlens_k = nullptr;
  std::int64_t total_q = 0, total_k = 0;  // varlen: rows of the packed tensors

  TensorRef q, k, v, out;
  MaskRef mask;         // attn_mask, broadcast to (B,H,Sq,Sk)
  MaskRef key_padding;  // bool, (B,Sk) as sb/sk with sh = sq = 0
  LseRef lse;

  bool causal = false;
  Align align = Align::top_left;
  // The visibility band after folding causal (right = 0) into the window; -1 = unbounded.
  std::int64_t window_left = -1;
  std::int64_t window_right = -1;

  double scale = 1.0;
  double softcap = 0.0;
  double dropout_p = 0.0;
  std::uint64_t dropout_seed = 0, dropout_offset = 0;

  void* stream = nullptr;
  const FlexSpec* flex = nullptr;  // programmable scores and masks, checked by resolve

  bool banded() const noexcept { return window_left >= 0 || window_right >= 0; }
  std::int64_t group() const noexcept { return Hkv > 0 ? Hq / Hkv : 1; }  // query heads per KV head
  // FLOPs of the forward pass per DESIGN §7: 2·B·Hq·Sq·Sk·(D + Dv), halved for causal (the
  // dense count, not the visible band; per sequence for host varlen).
  double flops() const noexcept;
};

}  // namespace attend
