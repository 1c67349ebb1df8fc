// What the driver (compiled for the baseline ISA) and the per-ISA kernels share: plain data
// only, so that nothing inline is compiled twice with different instruction sets.
//
// K and V are packed once per call into panels, one per (sequence, kv head), shared by every
// query head of the group and every q tile:
//   K[j][d]   (k_ld operands per row)  fp32, or bf16 pairs along d
//   V[j][dv]  (v_ld operands per row)  fp32, or bf16 pairs of rows (j, j+1)
// with a flag per key and per kv tile for V rows that hold an inf or a NaN (see attend_kv.hpp).
// The kernels work in a transposed layout: queries run along the SIMD lanes. A q tile keeps
//   Qt[d][i]  (D x q_tile)      the tile's queries, transposed (bf16 mode: d in pairs)
//   S[j][i]   (kv_tile x q_tile) scores of one kv tile, then its softmax weights P
//   Ot[dv][i] (Dv x q_tile)     the running output, transposed
// so that the row max / row sum of the softmax are plain vertical vector operations and any
// head dim works without padding to the vector width.
#pragma once

#include <cstddef>
#include <cstdint>

#include "attend/problem.hpp"
#include "backends/cpu_flash/isa.hpp"

namespace attend::cpu_flash {

// Element type of q/k/v as stored.
enum class Elem : std::uint8_t { f32, bf16, f16 };

// How the two GEMMs multiply: fp32 FMAs (fp32 and fp16 inputs, bf16 without a bf16 dot), or
// bf16 pair dot products with fp32 accumulation (AVX512-BF16).
enum class Math : std::uint8_t { f32, bf16_dot };

// Byte offsets of each buffer inside one thread's scratch (all 64-byte aligned).
struct ScratchLayout {
  std::size_t qt = 0, lo = 0, hi = 0, m = 0, l = 0, alpha = 0, s = 0, p = 0, ot = 0;
  std::size_t v_copy = 0;  // one kv tile of packed V, for tiles with non-finite V rows
  std::size_t total = 0;
};

struct FlexState;  // flex_tile.hpp: a FlexSpec's callables, only ever passed along here

// Everything constant over one call.
struct KernelArgs {
  const Problem* problem = nullptr;
  Elem elem = Elem::f32;
  Math math = Math::f32;
  int lanes = 1;              // SIMD width in fp32 lanes; q tiles are padded to a multiple of it
  int q_tile = 0;             // queries per tile (a multiple of lanes)
  int kv_tile = 0;            // keys per tile (even)
  float score_factor = 1.0f;  // multiplies q.k: scale*log2(e), scale/softcap with softcap,
                              // scale with flex (apply_flex_tile moves scores to log2 units)
  float softcap_log2 = 0.0f;  // softcap*log2(e); 0 = no softcap
  bool has_mask = false;      // attn_mask or key padding present
  bool dropout = false;
  FlexState* flex = nullptr;  // the FlexSpec callables to run, if any
  std::int64_t k_ld = 0;      // packed K row length, in 4-byte operands (float, or bf16 pair)
  std::int64_t v_ld = 0;      // packed V row length, in 4-byte operands
  ScratchLayout layout;
};

// The packed K and V of one (sequence, kv head); rows are keys of the sequence.
struct Panel {
  std::int64_t b = 0, kv_head = 0;
  std::int64_t k_start = 0, k_len = 0;  // the sequence's rows in k/v
  std::byte* k = nullptr;
  std::byte* v = nullptr;
  std::uint8_t* nonfinite_v_rows = nullptr;   // per key: its V row holds an inf or a NaN
  std::uint8_t* nonfinite_v_tiles = nullptr;  // per kv tile of the grid: one of its rows does
};

// One unit of work: a tile of query rows of one (sequence, query head), and its scratch.
struct QTile {
  std::int64_t b = 0, h = 0, kv_head = 0;
  std::int64_t q_start = 0, q_len = 0;  // the sequence's rows in q/out (varlen: token offset)
  std::int64_t k_start = 0, k_len = 0;  // the sequence's rows in k/v
  std::int64_t q0 = 0;                  // first row of the tile, within the sequence
  int rows = 0;                         // rows in the tile (<= q_tile)

  // Set by prepare_q_tile: the keys any row of the tile sees, and the sub-range every
  // non-empty row sees in full (kv tiles inside it need no band masking).
  std::int64_t kv_lo = 0, kv_hi = 0;
  std::int64_t full_lo = 0, full_hi = 0;

  const std::byte* k_panel = nullptr;  // the packed K and V of (b, kv_head)
  const std::byte* v_panel = nullptr;
  const std::uint8_t* nonfinite_v_rows = nullptr;
  const std::uint8_t* nonfinite_v_tiles = nullptr;
  std::byte* scratch = nullptr;  // this thread's scratch, laid out by KernelArgs::layout
};

// The per-ISA part. pack_panel packs keys [j0, j0 + n) of a panel, one kv tile of the grid
// (j0 a multiple of kv_tile), and flags its non-finite V rows; attend_kv runs the kv loop of one
// prepared q tile and leaves Ot, m, l in its scratch.
struct IsaKernel {
  Isa isa;
  Math math;
  int lanes;
  int q_tile;
  int kv_tile;
  void (*pack_panel)(const KernelArgs& args, const Panel& panel, std::int64_t j0,
                     std::int64_t n) noexcept;
  void (*attend_kv)(const KernelArgs& args, const QTile& tile) noexcept;
};

// The kernels of each ISA translation unit; nullptr when the build did not include it.
namespace generic {
const IsaKernel* kernel() noexcept;
}
namespace avx2 {
const IsaKernel* kernel() noexcept;
}
namespace avx512 {
const IsaKernel* kernel() noexcept;
}
namespace avx512_bf16 {
const IsaKernel* kernel() noexcept;
}
const IsaKernel* kernel_for(Isa isa) noexcept;

// Baseline-ISA helpers around a tile (tile_io.cpp). They hold the semantics shared with the
// reference (visibility, masks, dropout, dtype conversions); the kernels only call them.
void prepare_q_tile(const KernelArgs& args, QTile& tile) noexcept;
void finish_q_tile(const KernelArgs& args, const QTile& tile) noexcept;
// S[j][i] += log2(e) * mask terms of (row q0+i, key j0+j), for j < n_keys, i < tile.rows.
void add_mask_tile(const KernelArgs& args, const QTile& tile, std::int64_t j0, int n_keys, float* s,
                   std::int64_t ld) noexcept;
// S[j][i] = log2(e) * score_fn(S[j][i], ...), or -inf where mask_fn hides the pair, for the keys
// each row sees; S holds natural-unit scores (flex_tile.cpp).
void apply_flex_tile(const KernelArgs& args, const QTile& tile, std::int64_t j0, int n_keys,
                     float* s, std::int64_t ld) noexcept;
// P[j][i] = 0 where dropout drops (row q0+i, key j0+j).
void apply_dropout_tile(const KernelArgs& args, const QTile& tile, std::int64_t j0, int n_keys,
                        float* p, std::int64_t ld) noexcept;

}  // namespace attend::cpu_flash
