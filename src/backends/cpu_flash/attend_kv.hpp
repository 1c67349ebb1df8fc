// The kv loop of one q tile: for each kv tile in the tile's visible range, S = Q K^T, softcap or
// the flex callables, masks, online softmax, P V into the running output. kv tiles lie on a
// fixed grid of the sequence (so bf16 row pairs line up with the packed panels). Tiles outside
// the band are never visited; tiles that every row of the q tile sees in full skip the band
// masking; on the others (the causal diagonal, window edges) each group of query lanes
// multiplies only the keys that one of its queries sees. A kv tile whose V has an inf or a NaN
// takes a slower path so that only keys of non-zero weight reach the output, as in the
// reference.
// Written once over the ISA's Simd and a math Mode; instantiated per ISA namespace.
#pragma once

#include <cstdint>

#include "backends/cpu_flash/kernel_interface.hpp"
#include "backends/cpu_flash/micro_kernels.hpp"
#include "backends/cpu_flash/online_softmax.hpp"
#include "backends/cpu_flash/tile_packing.hpp"

namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA {

template <class T>
T* scratch_at(const QTile& t, std::size_t offset) noexcept {
  return reinterpret_cast<T*>(t.scratch + offset);
}

// fp32 operands: fp32 inputs, and fp16/bf16 inputs converted while packing.
struct Fp32Mode {
  using Dot = Fp32Dot;
  static std::int64_t score_depth(const KernelArgs& a) noexcept { return a.problem->D; }
  static void pack_panel(const KernelArgs& a, const Panel& panel, std::int64_t j0,
                         std::int64_t n) noexcept {
    pack_rows_f32(RowSource(a.problem->k, a.elem, panel), a.elem, j0, n, a.problem->D,
                  reinterpret_cast<float*>(panel.k) + j0 * a.k_ld, a.k_ld);
    float* v = reinterpret_cast<float*>(panel.v) + j0 * a.v_ld;
    pack_rows_f32(RowSource(a.problem->v, a.elem, panel), a.elem, j0, n, a.problem->Dv, v, a.v_ld);
    bool any = false;
    for (std::int64_t r = 0; r < n; ++r) {
      const bool bad = any_nonfinite(v + r * a.v_ld, a.problem->Dv, kF32Exponent);
      panel.nonfinite_v_rows[j0 + r] = bad;
      any |= bad;
    }
    if (n % 2) panel.nonfinite_v_rows[j0 + n] = 0;  // the pad row of an odd panel
    panel.nonfinite_v_tiles[j0 / a.kv_tile] = any;
  }
  // The V tile with its non-finite rows (flags from key j0) replaced by zeros.
  static const float* v_tile_finite(const KernelArgs& a, const QTile& t, std::int64_t j0,
                                    int n) noexcept {
    const float* v = v_tile(a, t, j0);
    float* copy = scratch_at<float>(t, a.layout.v_copy);
    for (int r = 0; r < n; ++r) {
      const bool bad = t.nonfinite_v_rows[j0 + r];
      for (std::int64_t c = 0; c < a.v_ld; ++c)
        copy[r * a.v_ld + c] = bad ? 0.0f : v[r * a.v_ld + c];
    }
    return copy;
  }
  // Element dv of V row j0 + r of the tile, as a float.
  static float v_value(const KernelArgs& a, const QTile& t, std::int64_t j0, int r,
                       std::int64_t dv) noexcept {
    return v_tile(a, t, j0)[r * a.v_ld + dv];
  }
  static const float* k_tile(const KernelArgs& a, const QTile& t, std::int64_t j0) noexcept {
    return reinterpret_cast<const float*>(t.k_panel) + j0 * a.k_ld;
  }
  static const float* v_tile(const KernelArgs& a, const QTile& t, std::int64_t j0) noexcept {
    return reinterpret_cast<const float*>(t.v_panel) + j0 * a.v_ld;
  }
  // The weights are used where the softmax left them; the depth of P V is one key per step.
  static const float* weights(const KernelArgs&, const QTile&, float* p, int, int) noexcept {
    return p;
  }
};

#if defined(ATTEND_CPU_FLASH_BF16_DOT)
// bf16 operands for vdpbf16ps: K and Q pairs along d, V and P pairs along the keys; P is
// rounded to bf16 after the softmax, as GPU flash kernels do.
struct Bf16Mode {
  using Dot = Bf16Dot;
  static std::int64_t score_depth(const KernelArgs& a) noexcept { return (a.problem->D + 1) / 2; }
  static void pack_panel(const KernelArgs& a, const Panel& panel, std::int64_t j0,
                         std::int64_t n) noexcept {
    pack_k_pairs(RowSource(a.problem->k, a.elem, panel), j0, n, a.problem->D,
                 reinterpret_cast<std::uint32_t*>(panel.k) + j0 * a.k_ld, a.k_ld);
    std::uint32_t* v = reinterpret_cast<std::uint32_t*>(panel.v) + j0 / 2 * a.v_ld;
    pack_v_pairs(RowSource(a.problem->v, a.elem, panel), j0, n, a.problem->Dv, v, a.v_ld);
    bool any = false;
    for (std::int64_t r = 0; r < n; ++r) {
      const std::uint32_t exponent = r % 2 ? kF32Exponent : kLowBf16Exponent;
      const bool bad = any_nonfinite(v + r / 2 * a.v_ld, a.problem->Dv, exponent);
      panel.nonfinite_v_rows[j0 + r] = bad;
      any |= bad;
    }
    if (n % 2) panel.nonfinite_v_rows[j0 + n] = 0;  // the pad row of an odd panel
    panel.nonfinite_v_tiles[j0 / a.kv_tile] = any;
  }
  // The V tile with its non-finite rows (flags from key j0) replaced by zeros, both rows of
  // every pair included (a pair may reach past the tile's last key).
  static const std::uint32_t* v_tile_finite(const KernelArgs& a, const QTile& t, std::int64_t j0,
                                            int n) noexcept {
    const std::uint32_t* v = v_tile(a, t, j0);
    std::uint32_t* copy = scratch_at<std::uint32_t>(t, a.layout.v_copy);
    for (int r = 0; r < n; r += 2) {
      const std::uint32_t keep = (t.nonfinite_v_rows[j0 + r] ? 0xffff0000u : 0xffffffffu) &
                                 (t.nonfinite_v_rows[j0 + r + 1] ? 0x0000ffffu : 0xffffffffu);
      for (std::int64_t c = 0; c < a.v_ld; ++c) {
        copy[r / 2 * a.v_ld + c] = v[r / 2 * a.v_ld + c] & keep;
      }
    }
    return copy;
  }
  // Element dv of V row j0 + r of the tile, as a float.
  static float v_value(const KernelArgs& a, const QTile& t, std::int64_t j0, int r,
                       std::int64_t dv) noexcept {
    const std::uint32_t pair = v_tile(a, t, j0)[r / 2 * a.v_ld + dv];
    return Simd::bf16_scalar(static_cast<std::uint16_t>(r % 2 ? pair >> 16 : pair & 0xffffu));
  }
  static const std::uint32_t* k_tile(const KernelArgs& a, const QTile& t,
                                     std::int64_t j0) noexcept {
    return reinterpret_cast<const std::uint32_t*>(t.k_panel) + j0 * a.k_ld;
  }
  static const std::uint32_t* v_tile(const KernelArgs& a, const QTile& t,
                                     std::int64_t j0) noexcept {
    return reinterpret_cast<const std::uint32_t*>(t.v_panel) + j0 / 2 * a.v_ld;
  }
  static const std::uint32_t* weights(const KernelArgs& a, const QTile& t, float* p, int n_keys,
                                      int n_vecs) noexcept {
    std::uint32_t* dst = scratch_at<std::uint32_t>(t, a.layout.p);
    pack_weight_pairs(p, a.q_tile, n_keys, n_vecs, dst, a.q_tile);
    return dst;
  }
};
#endif

// The keys [begin, end) of kv tile [j0, j0 + n) seen by some non-empty query of lanes [l0, l1).
inline KeySpan lanes_span(const std::int32_t* lo, const std::int32_t* hi, int l0, int l1,
                          std::int64_t j0, int n) noexcept {
  std::int64_t begin = j0 + n, end = j0;
  for (int i = l0; i < l1; ++i) {
    if (hi[i] <= lo[i]) continue;
    begin = lo[i] < begin ? lo[i] : begin;
    end = hi[i] > end ? hi[i] : end;
  }
  if (begin < j0) begin = j0;
  if (end > j0 + n) end = j0 + n;
  if (end <= begin) return {0, 0};
  return {static_cast<int>(begin - j0), static_cast<int>(end - j0)};
}

// Ot[dv][i] += P[j][i] * V[j][dv] for the flagged non-finite rows j of a kv tile, only where
// P[j][i] is not 0: like the reference, a key with weight 0 adds nothing, even an inf or NaN.
template <class Mode>
void add_nonfinite_rows(const KernelArgs& a, const QTile& t, std::int64_t j0, int n, const float* p,
                        std::int64_t ldp, int n_vecs, float* ot, std::int64_t ldo) noexcept {
  for (int r = 0; r < n; ++r) {
    if (!t.nonfinite_v_rows[j0 + r]) continue;
    for (std::int64_t dv = 0; dv < a.problem->Dv; ++dv) {
      const Simd::F v = Simd::set1(Mode::v_value(a, t, j0, r, dv));
      for (int c = 0; c < n_vecs; ++c) {
        const Simd::F w = Simd::load(p + r * ldp + c * kLanes);
        float* o = ot + dv * ldo + c * kLanes;
        Simd::store(o, Simd::add(Simd::load(o), Simd::where_nonzero(w, Simd::mul(w, v))));
      }
    }
  }
}

template <class Mode, class Shape>
void attend_kv(const KernelArgs& a, const QTile& t) noexcept {
  static_assert(Shape::kQTile % kLanes == 0, "q tiles are whole lane vectors");
  static_assert(Shape::kKvTile % 2 == 0, "kv tiles start on bf16 row pairs");
  using Operand = typename Mode::Dot::Operand;
  const ScratchLayout& L = a.layout;
  const Operand* qt = scratch_at<const Operand>(t, L.qt);
  const std::int32_t* lo = scratch_at<const std::int32_t>(t, L.lo);
  const std::int32_t* hi = scratch_at<const std::int32_t>(t, L.hi);
  float* m = scratch_at<float>(t, L.m);
  float* l = scratch_at<float>(t, L.l);
  float* alpha = scratch_at<float>(t, L.alpha);
  float* s = scratch_at<float>(t, L.s);
  float* ot = scratch_at<float>(t, L.ot);
  const std::int64_t ld = a.q_tile;  // every [.][i] panel is one q tile wide
  const int n_vecs = (t.rows + kLanes - 1) / kLanes;
  const std::int64_t score_depth = Mode::score_depth(a);

  bool first = true;
  for (std::int64_t j0 = t.kv_lo / a.kv_tile * a.kv_tile; j0 < t.kv_hi; j0 += a.kv_tile) {
    const int n = static_cast<int>(t.kv_hi - j0 < a.kv_tile ? t.kv_hi - j0 : a.kv_tile);
    const bool in_band = j0 >= t.full_lo && j0 + n <= t.full_hi;

    auto span = [&](int c0, int nc) {
      return in_band ? KeySpan{0, n} : lanes_span(lo, hi, c0 * kLanes, (c0 + nc) * kLanes, j0, n);
    };
    score_tile<typename Mode::Dot, Shape>(Mode::k_tile(a, t, j0), a.k_ld, qt, ld, score_depth,
                                          n_vecs, a.score_factor, s, ld, span);
    if (a.softcap_log2 != 0.0f) softcap_tile(s, ld, n, n_vecs, a.softcap_log2);
    if (a.flex) apply_flex_tile(a, t, j0, n, s, ld);
    if (a.has_mask) add_mask_tile(a, t, j0, n, s, ld);
    if (in_band) {
      softmax_tile<false>(s, ld, n, n_vecs, j0, lo, hi, m, l, alpha);
    } else {
      softmax_tile<true>(s, ld, n, n_vecs, j0, lo, hi, m, l, alpha);
    }
    if (a.dropout) apply_dropout_tile(a, t, j0, n, s, ld);

    const Operand* p = Mode::weights(a, t, s, n, n_vecs);
    const bool nonfinite = t.nonfinite_v_tiles[j0 / a.kv_tile] != 0;
    const Operand* v = nonfinite ? Mode::v_tile_finite(a, t, j0, n) : Mode::v_tile(a, t, j0);
    value_tile<typename Mode::Dot, Shape>(v, a.v_ld, p, ld, a.problem->Dv, n_vecs, alpha, first, ot,
                                          ld, span);
    if (nonfinite) add_nonfinite_rows<Mode>(a, t, j0, n, s, ld, n_vecs, ot, ld);
    first = false;
  }
}

// The entry points of this instantiation for a math Mode and a register-blocking Shape.
template <class Mode, class Shape>
constexpr IsaKernel make_kernel(Isa isa, Math math) {
  return {.isa = isa,
          .math = math,
          .lanes = Simd::kLanes,
          .q_tile = Shape::kQTile,
          .kv_tile = Shape::kKvTile,
          .pack_panel = [](const KernelArgs& a, const Panel& panel, std::int64_t j0,
                           std::int64_t n) noexcept { Mode::pack_panel(a, panel, j0, n); },
          .attend_kv = [](const KernelArgs& a,
                          const QTile& t) noexcept { attend_kv<Mode, Shape>(a, t); }};
}

}  // namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA
