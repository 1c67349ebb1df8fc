// The one plain struct every attention call takes. Everything diffusers' dispatch_attention_fn
// accepts has a field here, plus sliding windows, softcap and varlen (THD) inputs.
#pragma once

#include <cstdint>
#include <optional>

#include "attend/tensor.hpp"

namespace attend {

struct FlexSpec;  // attend/flex.hpp

// How q/k/v/out are laid out. B = batch, S = sequence, H = heads, D = head dim, T = total tokens.
enum class Layout : std::uint8_t {
  BSHD,  // (B, S, H, D), the default (diffusers, FlashAttention)
  BHSD,  // (B, H, S, D), PyTorch SDPA
  THD,   // (T, H, D) packed sequences; needs cu_seqlens_q / cu_seqlens_k
};

// Where query row i sits against key column j when Sq != Sk. Top-left: query i is at key
// position i (PyTorch SDPA's is_causal). Bottom-right: the last query lines up with the last key
// (FlashAttention >= 2.1, decoding with a KV cache). Applies to causal masking and windows.
enum class Align : std::uint8_t { top_left, bottom_right };

// Sliding window: query at position p sees keys in [p - left, p + right]; -1 is unbounded.
struct Window {
  std::int64_t left = -1;
  std::int64_t right = -1;
  bool active() const noexcept { return left >= 0 || right >= 0; }
};

struct Params {
  TensorView q;    // BSHD (B,Sq,Hq,D) | BHSD (B,Hq,Sq,D) | THD (Tq,Hq,D)
  TensorView k;    // same layout, Hkv heads, Sk keys
  TensorView v;    // like k, head dim Dv (may differ from D where the backend allows)
  TensorView out;  // like q, head dim Dv; written by the call
  Layout layout = Layout::BSHD;

  // Boolean (true = may attend, PyTorch's convention) or additive (added to the scaled score).
  // Shapes: (Sq,Sk), (B,Sq,Sk) or (B,H,Sq,Sk); any dimension may be 1 to broadcast.
  TensorView attn_mask;
  // Key padding, bool (B,Sk): false keys are ignored for every query of that batch.
  TensorView key_padding_mask;

  bool is_causal = false;
  Align align = Align::top_left;  // for is_causal and window when Sq != Sk
  Window window;

  std::optional<double> scale;  // default 1/sqrt(D)
  double softcap = 0.0;         // > 0: score = softcap * tanh(score / softcap), before masking
  bool enable_gqa = false;      // allow Hq != Hkv (Hq a multiple of Hkv)

  double dropout_p = 0.0;  // probability of dropping an attention weight
  std::uint64_t dropout_seed = 0;
  std::uint64_t dropout_offset = 0;

  // Optional log-sum-exp of the scaled, masked scores (natural log), fp32.
  // (B, Hq, Sq) for BSHD/BHSD, (Hq, Tq) for THD. Fully masked rows get -inf.
  TensorView lse;

  // Varlen (THD): int32 prefix sums of length B+1 on the tensors' device; max lengths as hints.
  TensorView cu_seqlens_q;
  TensorView cu_seqlens_k;
  std::int64_t max_seqlen_q = 0;
  std::int64_t max_seqlen_k = 0;

  void* stream = nullptr;  // cudaStream_t for CUDA backends; nullptr = the default stream
  // Programmable scores and masks (attend/flex.hpp); the spec must outlive the call.
  const FlexSpec* flex = nullptr;
};

}  // namespace attend
