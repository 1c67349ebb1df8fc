// The baseline-ISA edges of a q tile: which keys each row sees, Q read and transposed into the
// tile, masks and dropout applied to a tile of weights, and the output and LSE written in the
// caller's dtype. These hold the semantics shared with the reference (common/), compiled once.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "backends/cpu_flash/kernel_interface.hpp"
#include "common/half.hpp"
#include "common/philox.hpp"
#include "common/visibility.hpp"

namespace attend::cpu_flash {
namespace {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

template <class T>
T* at(const QTile& t, std::size_t offset) {
  return reinterpret_cast<T*>(t.scratch + offset);
}

// Calls fn(loader) with loader(offset) -> float for the element type of `data`.
template <class Fn>
void with_loader(const void* data, DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::bf16: {
      const auto* x = static_cast<const std::uint16_t*>(data);
      fn([x](std::int64_t o) { return common::bf16_to_float(x[o]); });
      break;
    }
    case DType::f16: {
      const auto* x = static_cast<const std::uint16_t*>(data);
      fn([x](std::int64_t o) { return common::fp16_to_float(x[o]); });
      break;
    }
    case DType::f64: {
      const auto* x = static_cast<const double*>(data);
      fn([x](std::int64_t o) { return static_cast<float>(x[o]); });
      break;
    }
    default: {
      const auto* x = static_cast<const float*>(data);
      fn([x](std::int64_t o) { return x[o]; });
      break;
    }
  }
}

// Qt[d][i] = q(row q0+i, d) as float; lanes past the tile's rows are 0. Row by row: rows of
// BSHD tensors lie a power of two apart, so reading them column by column thrashes L1 sets.
void pack_q_f32(const KernelArgs& a, const QTile& t, int width) {
  const Problem& p = *a.problem;
  float* qt = at<float>(t, a.layout.qt);
  const std::int64_t base = t.b * p.q.sb + (t.q_start + t.q0) * p.q.ss + t.h * p.q.sh;
  with_loader(p.q.data, p.dtype, [&](auto load) {
    for (int i = 0; i < t.rows; ++i) {
      const std::int64_t row = base + i * p.q.ss;
      for (std::int64_t d = 0; d < p.D; ++d) qt[d * a.q_tile + i] = load(row + d * p.q.sd);
    }
  });
  for (std::int64_t d = 0; d < p.D; ++d) {
    for (int i = t.rows; i < width; ++i) qt[d * a.q_tile + i] = 0.0f;
  }
}

// Qt[d/2][i] = bf16 bits of q(row q0+i, d) and (d+1) in one pair; padding is 0.
void pack_q_pairs(const KernelArgs& a, const QTile& t, int width) {
  const Problem& p = *a.problem;
  std::uint32_t* qt = at<std::uint32_t>(t, a.layout.qt);
  const auto* q = static_cast<const std::uint16_t*>(p.q.data);
  const std::int64_t base = t.b * p.q.sb + (t.q_start + t.q0) * p.q.ss + t.h * p.q.sh;
  for (int i = 0; i < t.rows; ++i) {
    const std::uint16_t* row = q + base + i * p.q.ss;
    for (std::int64_t d = 0; d < p.D; d += 2) {
      const std::uint32_t hi = d + 1 < p.D ? row[(d + 1) * p.q.sd] : 0u;
      qt[(d / 2) * a.q_tile + i] = row[d * p.q.sd] | hi << 16;
    }
  }
  for (std::int64_t d = 0; d < p.D; d += 2) {
    for (int i = t.rows; i < width; ++i) qt[(d / 2) * a.q_tile + i] = 0u;
  }
}

template <class Term>
void add_terms(const MaskRef& mask, const QTile& t, std::int64_t j0, int n_keys, float* s,
               std::int64_t ld, Term term) {
  const std::int64_t base = t.b * mask.sb + t.h * mask.sh + t.q0 * mask.sq + j0 * mask.sk;
  for (int j = 0; j < n_keys; ++j) {
    float* row = s + j * ld;
    const std::int64_t o = base + j * mask.sk;
    for (int i = 0; i < t.rows; ++i) row[i] += term(o + i * mask.sq);
  }
}

void add_mask(const MaskRef& mask, const QTile& t, std::int64_t j0, int n_keys, float* s,
              std::int64_t ld) {
  if (mask.dtype == DType::boolean) {
    const auto* x = static_cast<const std::uint8_t*>(mask.data);
    add_terms(mask, t, j0, n_keys, s, ld, [x](std::int64_t o) { return x[o] ? 0.0f : kNegInf; });
    return;
  }
  with_loader(mask.data, mask.dtype, [&](auto load) {
    add_terms(mask, t, j0, n_keys, s, ld, [&](std::int64_t o) { return load(o) * kLog2e; });
  });
}

template <class Store>
void write_rows(const KernelArgs& a, const QTile& t, Store store) {
  const Problem& p = *a.problem;
  const std::int32_t* lo = at<std::int32_t>(t, a.layout.lo);
  const std::int32_t* hi = at<std::int32_t>(t, a.layout.hi);
  const float* m = at<float>(t, a.layout.m);
  const float* l = at<float>(t, a.layout.l);
  const float* ot = at<float>(t, a.layout.ot);
  const float keep_scale = a.dropout ? static_cast<float>(1.0 / (1.0 - p.dropout_p)) : 1.0f;
  const std::int64_t base = t.b * p.out.sb + (t.q_start + t.q0) * p.out.ss + t.h * p.out.sh;
  for (int i = 0; i < t.rows; ++i) {
    const std::int64_t o = base + i * p.out.ss;
    // A row sees no key, or only -inf scores: zeros and an LSE of -inf (l is NaN for NaN input).
    const bool empty = hi[i] <= lo[i] || t.kv_hi <= t.kv_lo || l[i] == 0.0f;
    const float scale = empty ? 0.0f : keep_scale / l[i];
    for (std::int64_t d = 0; d < p.Dv; ++d) {
      store(o + d * p.out.sd, empty ? 0.0f : ot[d * a.q_tile + i] * scale);
    }
    if (p.lse.present()) {
      p.lse.data[t.b * p.lse.sb + t.h * p.lse.sh + (t.q_start + t.q0 + i) * p.lse.sq] =
          empty ? kNegInf : (m[i] + std::log2(l[i])) * kLn2;
    }
  }
}

}  // namespace

void prepare_q_tile(const KernelArgs& a, QTile& t) noexcept {
  const Problem& p = *a.problem;
  std::int32_t* lo = at<std::int32_t>(t, a.layout.lo);
  std::int32_t* hi = at<std::int32_t>(t, a.layout.hi);
  float* m = at<float>(t, a.layout.m);
  float* l = at<float>(t, a.layout.l);
  const int width = (t.rows + a.lanes - 1) / a.lanes * a.lanes;

  std::int64_t kv_lo = std::numeric_limits<std::int64_t>::max(), kv_hi = 0;
  std::int64_t full_lo = 0, full_hi = std::numeric_limits<std::int64_t>::max();
  for (int i = 0; i < width; ++i) {
    m[i] = kNegInf;
    l[i] = 0.0f;
    common::KeyRange r{0, 0};
    if (i < t.rows) r = common::visible_keys(p, t.q0 + i, t.q_len, t.k_len);
    if (r.hi <= r.lo) {
      // Sees nothing. Left out of the ranges: its lanes may hold anything, finish_q_tile
      // writes zeros and -inf for it.
      r = {0, 0};
    } else {
      kv_lo = r.lo < kv_lo ? r.lo : kv_lo;
      kv_hi = r.hi > kv_hi ? r.hi : kv_hi;
      full_lo = r.lo > full_lo ? r.lo : full_lo;
      full_hi = r.hi < full_hi ? r.hi : full_hi;
    }
    lo[i] = static_cast<std::int32_t>(r.lo);
    hi[i] = static_cast<std::int32_t>(r.hi);
  }
  if (kv_hi == 0) {  // no row sees any key
    t.kv_lo = t.kv_hi = t.full_lo = t.full_hi = 0;
    return;
  }
  t.kv_lo = kv_lo;
  t.kv_hi = kv_hi;
  t.full_lo = full_lo;
  t.full_hi = full_hi;
  if (a.math == Math::bf16_dot) {
    pack_q_pairs(a, t, width);
  } else {
    pack_q_f32(a, t, width);
  }
}

void finish_q_tile(const KernelArgs& a, const QTile& t) noexcept {
  const Problem& p = *a.problem;
  switch (p.out_dtype) {
    case DType::bf16: {
      auto* out = static_cast<std::uint16_t*>(p.out.data);
      write_rows(a, t, [out](std::int64_t o, float x) { out[o] = common::float_to_bf16(x); });
      break;
    }
    case DType::f16: {
      auto* out = static_cast<std::uint16_t*>(p.out.data);
      write_rows(a, t, [out](std::int64_t o, float x) { out[o] = common::float_to_fp16(x); });
      break;
    }
    default: {
      auto* out = static_cast<float*>(p.out.data);
      write_rows(a, t, [out](std::int64_t o, float x) { out[o] = x; });
      break;
    }
  }
}

void add_mask_tile(const KernelArgs& a, const QTile& t, std::int64_t j0, int n_keys, float* s,
                   std::int64_t ld) noexcept {
  const Problem& p = *a.problem;
  if (p.key_padding.present()) add_mask(p.key_padding, t, j0, n_keys, s, ld);
  if (p.mask.present()) add_mask(p.mask, t, j0, n_keys, s, ld);
}

void apply_dropout_tile(const KernelArgs& a, const QTile& t, std::int64_t j0, int n_keys, float* p,
                        std::int64_t ld) noexcept {
  const Problem& pr = *a.problem;
  const float drop = static_cast<float>(pr.dropout_p);
  for (int j = 0; j < n_keys; ++j) {
    float* row = p + j * ld;
    for (int i = 0; i < t.rows; ++i) {
      if (!common::dropout_keep(pr.dropout_seed, pr.dropout_offset, t.b, t.h, t.q0 + i, j0 + j,
                                drop)) {
        row[i] = 0.0f;
      }
    }
  }
}

}  // namespace attend::cpu_flash
