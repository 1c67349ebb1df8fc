// The parameter block of the sage kernels: flash's, pointed at the quantized tensors, plus the
// scales that turn int8 products back into scores and the smoothing's LSE correction.
#pragma once

#include <cstdint>

#include "backends/flash/params.hpp"
#include "backends/flash3/params.hpp"

namespace attend::sage {

struct SageParams {
  // q and k: int8 rows of kernel_dim bytes in (token, head) order, read as b16 pairs, strides in
  // b16 units. v: fp16 (the problem's own when it is fp16). out, lse and the softmax band: the
  // problem's.
  flash::FlashParams base;
  // Per query row: its int8 step times the softmax scale in log2 units; [Hq][B][Sq].
  const float* q_scale = nullptr;
  // Per key: its int8 step; [Hkv][B][key_step_rows(Sk)], zero past each sequence's keys.
  const float* k_scale = nullptr;
  // Per channel of V: the largest |v| as float bits, [Hkv][B][kernel_dim]; the fp16 copy of V
  // holds v / value_step(max). Null when V is used as it is.
  const std::uint32_t* v_max = nullptr;
  // Per query row, natural log: scale·q·mean(K), which smoothing took out of every score of the
  // row and the LSE gets back; [Hq][B][Sq]. Null without LSE.
  const float* lse_bias = nullptr;
};

// The sage_fp8 kernel's block: flash3's persistent schedule (its f describes the problem's own
// tensors; Q, K and V reach the kernel through tensor maps of the quantized copies).
struct Fp8Params {
  flash3::Flash3Params base;
  const float* q_scale = nullptr;  // as SageParams
  const float* k_scale = nullptr;  // as SageParams
  // Per channel of V: the largest |v| as float bits, [Hkv][B][128]; the fp8 copy of V holds
  // v / fp8_value_step(max).
  const std::uint32_t* v_max = nullptr;
  const float* lse_bias = nullptr;  // as SageParams
};

}  // namespace attend::sage
