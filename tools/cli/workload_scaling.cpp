#include "workload_scaling.hpp"

#include <algorithm>
#include <cmath>

#include "problem_size.hpp"

namespace attend::cli {
namespace {

constexpr std::int64_t kSeqQuantum = 64;  // keeps scaled lengths on whole tiles
constexpr std::int64_t kMinSeq = 256;

std::int64_t scaled_length(std::int64_t s, double factor) {
  const auto want = static_cast<std::int64_t>(static_cast<double>(s) * factor);
  const std::int64_t rounded = want / kSeqQuantum * kSeqQuantum;
  return std::min(s, std::max(rounded, kMinSeq));
}

// A 4-D mask shape follows the problem's sizes after they change, keeping its broadcast dims.
void fit_mask_shape(support::ProblemSpec& s) {
  if (s.mask_shape.size() != 4) return;
  const std::int64_t sizes[4] = {s.B, s.Hq, s.Sq, s.Sk};
  for (int i = 0; i < 4; ++i) {
    if (s.mask_shape[i] != 1) s.mask_shape[i] = sizes[i];
  }
}

}  // namespace

support::ProblemSpec workload_spec(const support::Workload& w, DType dtype) {
  support::ProblemSpec s;
  s.B = w.B;
  s.Hq = w.Hq;
  s.Hkv = w.Hkv;
  s.Sq = s.Sk = w.S;
  s.D = w.D;
  s.causal = w.causal;
  s.dtype = dtype;
  if (w.bias) {
    s.mask = support::MaskKind::additive;
    s.mask_shape = {w.B, 1, w.S, w.S};
  }
  return s;
}

support::ProblemSpec scale_to_flops(support::ProblemSpec s, double target) {
  const double f = support::flops(s);
  if (f <= target) return s;
  // FLOPs grow with Sq * Sk: the same factor on both keeps their ratio.
  const double factor = std::sqrt(target / f);
  s.Sq = scaled_length(s.Sq, factor);
  s.Sk = scaled_length(s.Sk, factor);
  const double after = support::flops(s);
  if (after > target) {
    const std::int64_t group = s.Hq / std::max<std::int64_t>(s.Hkv, 1);
    const double per_kv_head = after / static_cast<double>(s.Hkv);
    s.Hkv = std::max<std::int64_t>(1, static_cast<std::int64_t>(target / per_kv_head));
    s.Hq = group * s.Hkv;
  }
  fit_mask_shape(s);
  return s;
}

support::ProblemSpec reduced_for_reference(const support::ProblemSpec& spec) {
  support::ProblemSpec s = spec;
  const std::int64_t group = s.Hq / std::max<std::int64_t>(s.Hkv, 1);
  s.B = 1;
  s.Hkv = std::min<std::int64_t>(s.Hkv, 2);
  s.Hq = group * s.Hkv;
  s.Sq = std::min<std::int64_t>(s.Sq, 256);
  s.Sk = std::min<std::int64_t>(s.Sk, 256);
  fit_mask_shape(s);
  return s;
}

}  // namespace attend::cli
