// Programmable attention, after PyTorch's FlexAttention: a score modification and a mask written
// as small functions of (score, b, h, q_idx, kv_idx). On the GPU (`flex`) they are C++ device
// source, compiled at run time into a specialised kernel; on the CPU (`cpu_flash`) they are C++
// callables. Set Params::flex to a spec that outlives the call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "attend/tensor.hpp"

namespace attend {

struct Params;

// A tensor the sources may read by name: `name[i]` (flat element index) or `name(i, j, ...)`
// (one index per dimension, strides applied). Half-precision elements read as float.
struct FlexTensor {
  std::string name;  // a C++ identifier; not one of score, b, h, q_idx, kv_idx
  TensorView tensor;
};

class FlexBlockMask;

struct FlexSpec {
  // Device source: an expression, or statements ending in `return`.
  //   score_mod: `float score` (the scaled q·k) and `int b, h, q_idx, kv_idx` -> the new score.
  //   mask_mod:  `int b, h, q_idx, kv_idx` -> true where the query may attend the key.
  // b is the batch, h the query head, q_idx and kv_idx positions in the sequence. The GPU takes
  // BSHD/BHSD (no THD: a document mask_mod is how flex packs sequences).
  std::string score_mod;
  std::string mask_mod;
  std::vector<FlexTensor> tensors;

  // The same functions for the CPU (`cpu_flash`). They are called from several threads at once
  // (keep them pure), only for pairs inside the causal/window band, score_fn never for a pair
  // mask_fn hides; an exception they throw leaves attention(). With packed sequences (THD) b is
  // the sequence and q_idx, kv_idx positions within it.
  std::function<float(float score, std::int64_t b, std::int64_t h, std::int64_t q_idx,
                      std::int64_t kv_idx)>
      score_fn;
  std::function<bool(std::int64_t b, std::int64_t h, std::int64_t q_idx, std::int64_t kv_idx)>
      mask_fn;

  // Which tiles of the problem the mask leaves empty, partial or full (see flex_block_mask).
  // Absent: the `flex` backend builds one per call.
  std::shared_ptr<const FlexBlockMask> block_mask;

  bool has_source() const noexcept { return !score_mod.empty() || !mask_mod.empty(); }
  bool has_callables() const noexcept { return score_fn != nullptr || mask_fn != nullptr; }
};

// The block mask of spec.mask_mod for the problem of `params` (its sizes, device and stream):
// per (batch, head, query tile, key tile), whether every, some or no pair is visible. Built on
// the GPU once; reuse it while the mask and the tensors it reads stay the same. Tiles cover only
// what the mask depends on: a mask_mod that never names `b` (or `h`) gets one for every batch
// (or head).
class FlexBlockMask {
 public:
  virtual ~FlexBlockMask() = default;
  virtual std::int64_t batches() const noexcept = 0;  // 1 when the mask ignores b
  virtual std::int64_t heads() const noexcept = 0;    // 1 when the mask ignores h
  virtual std::int64_t query_tiles() const noexcept = 0;
  virtual std::int64_t key_tiles() const noexcept = 0;
  // Key tiles a query tile visits (partial + full), summed over every (batch, head, query
  // tile); with the total, the fraction of the dense work that remains. Waits for the GPU.
  virtual std::int64_t visited_tiles() const = 0;
};

std::shared_ptr<const FlexBlockMask> flex_block_mask(const FlexSpec& spec, const Params& params);

}  // namespace attend
