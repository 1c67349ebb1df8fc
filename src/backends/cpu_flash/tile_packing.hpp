// Packing K and V into the panels the micro-kernels read: rows contiguous and 64-byte aligned
// whatever the input strides, converted to the operand type of the math mode; and the bf16
// pairs of the softmax weights.
//   fp32 mode: K[j][d] and V[j][dv] as floats.
//   bf16 mode: K[j][d/2] as bf16 pairs along d (odd D padded with 0); V[j/2][dv] as pairs of
//              rows j, j+1 (an odd last row paired with 0), the operand order of vdpbf16ps.
#pragma once

#include <cstdint>
#include <cstring>

#include "backends/cpu_flash/kernel_interface.hpp"

#ifndef ATTEND_CPU_FLASH_ISA
#error "include a simd_*.hpp first"
#endif

namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA {

// Where rows j of a k or v tensor start for one panel: element offset of key 0 of the
// panel's sequence and kv head, plus the row and column strides.
struct RowSource {
  const std::byte* data;
  std::int64_t elem_bytes;
  std::int64_t base, row_stride, col_stride;

  RowSource(const TensorRef& t, Elem e, const Panel& panel) noexcept
      : data(static_cast<const std::byte*>(t.data)),
        elem_bytes(e == Elem::f32 ? 4 : 2),
        base(panel.b * t.sb + panel.k_start * t.ss + panel.kv_head * t.sh),
        row_stride(t.ss),
        col_stride(t.sd) {}

  const void* row(std::int64_t j) const noexcept {
    return data + (base + j * row_stride) * elem_bytes;
  }
};

// Row j of k or v as n floats.
inline void load_row_f32(const RowSource& src, Elem e, std::int64_t j, std::int64_t n,
                         float* dst) noexcept {
  const void* row = src.row(j);
  const std::int64_t cs = src.col_stride;
  switch (e) {
    case Elem::f32: {
      const float* x = static_cast<const float*>(row);
      if (cs == 1) {
        Simd::f32_row(x, dst, n);
      } else {
        for (std::int64_t d = 0; d < n; ++d) dst[d] = x[d * cs];
      }
      break;
    }
    case Elem::bf16: {
      const std::uint16_t* x = static_cast<const std::uint16_t*>(row);
      if (cs == 1) {
        Simd::bf16_row(x, dst, n);
      } else {
        for (std::int64_t d = 0; d < n; ++d) dst[d] = Simd::bf16_scalar(x[d * cs]);
      }
      break;
    }
    case Elem::f16: {
      const std::uint16_t* x = static_cast<const std::uint16_t*>(row);
      if (cs == 1) {
        Simd::f16_row(x, dst, n);
      } else {
        for (std::int64_t d = 0; d < n; ++d) dst[d] = Simd::f16_scalar(x[d * cs]);
      }
      break;
    }
  }
}

// Rows j0 .. j0+n_rows of k or v as floats, ld floats apart.
inline void pack_rows_f32(const RowSource& src, Elem e, std::int64_t j0, std::int64_t n_rows,
                          std::int64_t n_cols, float* dst, std::int64_t ld) noexcept {
  for (std::int64_t r = 0; r < n_rows; ++r) load_row_f32(src, e, j0 + r, n_cols, dst + r * ld);
}

// Row j of a bf16 k or v as raw bits, n of them.
inline void load_row_bits(const RowSource& src, std::int64_t j, std::int64_t n,
                          std::uint16_t* dst) noexcept {
  const std::uint16_t* x = static_cast<const std::uint16_t*>(src.row(j));
  if (src.col_stride == 1) {
    std::memcpy(dst, x, static_cast<std::size_t>(n) * sizeof(std::uint16_t));
  } else {
    for (std::int64_t d = 0; d < n; ++d) dst[d] = x[d * src.col_stride];
  }
}

// Inf and NaN have an all-ones exponent: where it sits in a 4-byte operand.
constexpr std::uint32_t kF32Exponent = 0x7f800000u;      // an fp32, or the high bf16 of a pair
constexpr std::uint32_t kLowBf16Exponent = 0x00007f80u;  // the low bf16 of a pair

// Whether one of n 4-byte operands has an all-ones exponent under `exponent`.
inline bool any_nonfinite(const void* operands, std::int64_t n, std::uint32_t exponent) noexcept {
  const std::byte* bytes = static_cast<const std::byte*>(operands);
  std::uint32_t hit = 0;
  for (std::int64_t c = 0; c < n; ++c) {
    std::uint32_t w;
    std::memcpy(&w, bytes + 4 * c, sizeof w);
    hit |= static_cast<std::uint32_t>((w & exponent) == exponent);
  }
  return hit != 0;
}

#if defined(ATTEND_CPU_FLASH_BF16_DOT)
// K rows j0 .. j0+n_rows as bf16 pairs along d: ld pairs per row, an odd D padded with 0.
inline void pack_k_pairs(const RowSource& src, std::int64_t j0, std::int64_t n_rows,
                         std::int64_t depth, std::uint32_t* dst, std::int64_t ld) noexcept {
  for (std::int64_t r = 0; r < n_rows; ++r) {
    std::uint16_t* row = reinterpret_cast<std::uint16_t*>(dst + r * ld);
    load_row_bits(src, j0 + r, depth, row);
    if (depth % 2) row[depth] = 0;
  }
}

// V rows j0 .. j0+n_rows as pairs of rows (j, j+1) for each column: ld pairs per row pair.
inline void pack_v_pairs(const RowSource& src, std::int64_t j0, std::int64_t n_rows,
                         std::int64_t dv, std::uint32_t* dst, std::int64_t ld) noexcept {
  const std::int64_t cs = src.col_stride;
  for (std::int64_t r = 0; r < n_rows; r += 2) {
    const std::uint16_t* a = static_cast<const std::uint16_t*>(src.row(j0 + r));
    const std::uint16_t* b =
        r + 1 < n_rows ? static_cast<const std::uint16_t*>(src.row(j0 + r + 1)) : nullptr;
    std::uint32_t* out = dst + (r / 2) * ld;
    if (cs == 1) {
      Simd::interleave_bf16_rows(a, b, out, dv);
    } else {
      for (std::int64_t c = 0; c < dv; ++c) {
        out[c] = a[c * cs] | (b ? static_cast<std::uint32_t>(b[c * cs]) << 16 : 0u);
      }
    }
  }
}

// P[j][i] (fp32 weights) rounded to bf16 pairs of rows (j, j+1), an odd last row paired with 0.
inline void pack_weight_pairs(const float* p, std::int64_t ldp, int n_keys, int n_vecs,
                              std::uint32_t* dst, std::int64_t ldd) noexcept {
  for (int j = 0; j < n_keys; j += 2) {
    const float* p0 = p + j * ldp;
    const float* p1 = p0 + ldp;
    std::uint32_t* out = dst + (j / 2) * ldd;
    for (int v = 0; v < n_vecs; ++v) {
      const Simd::F a = Simd::load(p0 + v * Simd::kLanes);
      const Simd::F b = j + 1 < n_keys ? Simd::load(p1 + v * Simd::kLanes) : Simd::zero();
      Simd::store_pairs(out + v * Simd::kLanes, Simd::pack_pairs(a, b));
    }
  }
}
#endif

}  // namespace attend::cpu_flash::ATTEND_CPU_FLASH_ISA
