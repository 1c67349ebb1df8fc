// The feature variants of the conformance grids (CPU backends and GPU backends, each against the
// `math` reference), built around a base problem of each grid's own dtype and sizes. One list
// for both, so a feature added to the grid is tested on every backend.
#pragma once

#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "support/host_problem.hpp"

namespace attend::conformance {

using SeqLens = std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>>;  // (q, k)

// The sizes a grid gives its variants; everything else comes from the base problem.
struct GridSizes {
  std::vector<std::pair<std::int64_t, std::int64_t>> causal;  // (Sq, Sk), under both alignments
  std::int64_t gqa_causal_sq = 0;  // Sq of the causal GQA variants; 0: the base's
  std::vector<std::vector<std::int64_t>> mask_shapes;  // each with a bool and an additive mask
  std::int64_t key_padding_batch = 0;  // B of the key-padding variants; 0: the base's
  std::vector<SeqLens> varlen;
  std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> empty;  // (B, Sq, Sk)
};

// Appends to `out` the base at every head dim, then causal (both alignments), GQA, masks, fully
// masked rows, key padding, windows, softcap, varlen, dropout, Dv != D, layouts and strides, and
// empty problems. Seeds are left to the caller.
void append_variants(const support::ProblemSpec& base, const GridSizes& sizes,
                     std::vector<support::ProblemSpec>& out);

// Seeds the specs first, first + 1, ... in order: each case its own inputs.
void number_seeds(std::vector<support::ProblemSpec>& specs, std::uint64_t first);

}  // namespace attend::conformance
