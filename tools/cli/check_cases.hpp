// The conformance grid of `attend check`: small random problems that together cover every axis
// a backend declares (dtypes, head dims, Sq != Sk, both causal alignments, GQA, every mask
// broadcast shape, key padding, windows, softcap, varlen with empty sequences, LSE, dropout,
// layouts and strides).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "support/host_problem.hpp"

namespace attend::cli {

struct CheckCase {
  std::string feature;  // the axis this case is about, e.g. "causal-br" or "bool-mask"
  support::ProblemSpec spec;
};

// Every feature appears in each round with a different dtype and head dim; sizes and the extra
// features (LSE, GQA) are drawn from `seed`. Quick: fewer rounds and shorter sequences.
std::vector<CheckCase> check_cases(bool quick, std::uint64_t seed);

}  // namespace attend::cli
