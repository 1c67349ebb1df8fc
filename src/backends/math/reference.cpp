// Obviously-correct attention, the oracle of every conformance test. For each (sequence, head,
// query row): scores over the visible keys in fp64, softcap, masks, a max-subtracted softmax,
// dropout on the normalised weights, and the weighted sum of V rows.
#include "backends/math/reference.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "common/elements.hpp"
#include "common/mask.hpp"
#include "common/philox.hpp"
#include "common/visibility.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace attend::math {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

struct Scratch {
  std::vector<double> scores;
  std::vector<double> acc;
};

void attend_row(const Problem& p, std::int64_t b, std::int64_t h, std::int64_t i,
                const common::SeqBounds& seq, Scratch& scratch) {
  const std::int64_t kv_head = h / p.group();
  const std::int64_t q_off = b * p.q.sb + (seq.q_start + i) * p.q.ss + h * p.q.sh;
  const std::int64_t o_off = b * p.out.sb + (seq.q_start + i) * p.out.ss + h * p.out.sh;
  const common::KeyRange range = common::visible_keys(p, i, seq.q_len, seq.k_len);
  double* s = scratch.scores.data();
  double* acc = scratch.acc.data();

  double m = kNegInf;
  bool nan = false;  // NaN scores propagate to the whole row, as in PyTorch
  for (std::int64_t j = range.lo; j < range.hi; ++j) {
    const std::int64_t k_off = b * p.k.sb + (seq.k_start + j) * p.k.ss + kv_head * p.k.sh;
    double dot = 0.0;
    for (std::int64_t d = 0; d < p.D; ++d) {
      dot += common::load_element(p.q.data, p.dtype, q_off + d * p.q.sd) *
             common::load_element(p.k.data, p.dtype, k_off + d * p.k.sd);
    }
    double score = dot * p.scale;
    if (p.softcap > 0) score = p.softcap * std::tanh(score / p.softcap);
    score += common::mask_terms(p, b, h, i, j);
    s[j] = score;
    nan |= std::isnan(score);
    if (score > m) m = score;
  }

  for (std::int64_t d = 0; d < p.Dv; ++d) acc[d] = 0.0;
  double lse = kNegInf;
  if (nan) {
    lse = std::numeric_limits<double>::quiet_NaN();
    for (std::int64_t d = 0; d < p.Dv; ++d) acc[d] = lse;
  } else if (m != kNegInf) {
    double l = 0.0;
    for (std::int64_t j = range.lo; j < range.hi; ++j) l += std::exp(s[j] - m);
    lse = m + std::log(l);
    const double keep_scale = 1.0 / (1.0 - p.dropout_p);
    for (std::int64_t j = range.lo; j < range.hi; ++j) {
      double w = std::exp(s[j] - m) / l;
      if (p.dropout_p > 0) {
        const bool keep = common::dropout_keep(p.dropout_seed, p.dropout_offset, b, h, i, j,
                                               static_cast<float>(p.dropout_p));
        w = keep ? w * keep_scale : 0.0;
      }
      if (w == 0.0) continue;
      const std::int64_t v_off = b * p.v.sb + (seq.k_start + j) * p.v.ss + kv_head * p.v.sh;
      for (std::int64_t d = 0; d < p.Dv; ++d) {
        acc[d] += w * common::load_element(p.v.data, p.dtype, v_off + d * p.v.sd);
      }
    }
  }
  for (std::int64_t d = 0; d < p.Dv; ++d) {
    common::store_element(p.out.data, p.out_dtype, o_off + d * p.out.sd, acc[d]);
  }
  if (p.lse.present()) {
    p.lse.data[b * p.lse.sb + h * p.lse.sh + (seq.q_start + i) * p.lse.sq] =
        static_cast<float>(lse);
  }
}

}  // namespace

void run_reference(const Problem& p) {
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  // Scratch per thread, allocated before the parallel region so nothing inside can throw.
  std::vector<Scratch> scratch(static_cast<std::size_t>(threads));
  for (Scratch& s : scratch) {
    s.scores.resize(static_cast<std::size_t>(p.Sk) + 1);
    s.acc.resize(static_cast<std::size_t>(p.Dv));
  }
  const std::int64_t B = p.B, H = p.Hq;
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t h = 0; h < H; ++h) {
      int t = 0;
#ifdef _OPENMP
      t = omp_get_thread_num();
#endif
      const common::SeqBounds seq = common::seq_bounds(p, b);
      for (std::int64_t i = 0; i < seq.q_len; ++i) attend_row(p, b, h, i, seq, scratch[t]);
    }
  }
}

}  // namespace attend::math
