// How one attend Problem maps onto cuDNN's SDPA graph: every tensor as (B, H, S, D) dims and
// strides, how the masks reach it (as cuDNN's bias, read in place or converted into the
// workspace), packed sequences as ragged offsets with a padding mask, and the band. Plain C++:
// the same description keys the plan cache, builds the graph and fills the variant pack.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "attend/problem.hpp"

namespace attend::cudnn {

// Unique ids of the graph's tensors; the variant pack lists pointers in this order.
enum Uid : std::int64_t {
  kUidQ = 1,
  kUidK,
  kUidV,
  kUidO,
  kUidStats,
  kUidBias,
  kUidSeqQ,
  kUidSeqKv,
  kUidRaggedQ,
  kUidRaggedK,
  kUidRaggedV,
  kUidRaggedO,
  kUidSeed,
  kUidOffset,
};

enum class BiasSource : std::uint8_t {
  none,       // no attn_mask and no key padding
  in_place,   // an additive mask of the inputs' dtype that cuDNN reads where it is
  converted,  // bool masks, key padding, other dtypes or broadcasts: one bias in the workspace
};

struct Dims {
  std::array<std::int64_t, 4> dim{};     // (B, H, S, D)
  std::array<std::int64_t, 4> stride{};  // elements
};

struct Lowered {
  Dims q, k, v, o;
  Dims stats;  // (B, Hq, Sq, 1); valid when `lse`
  Dims bias;   // (B or 1, Hq or 1, Sq, Sk)
  BiasSource bias_source = BiasSource::none;
  bool lse = false;
  bool ragged = false;  // THD: cu_seqlens become sequence lengths and ragged offsets
  bool causal = false;
  bool bottom_right = false;
  std::int64_t left = -1, right = -1;  // band bounds in cuDNN's terms; -1 = none
  float scale = 1.f;
  float dropout_p = 0.f;

  // Workspace attend itself needs beside cuDNN's: the converted bias, then the sequence
  // lengths and ragged offsets.
  std::size_t bias_bytes = 0;
  std::size_t ragged_bytes = 0;
};

Lowered lower(const Problem& p);

}  // namespace attend::cudnn
