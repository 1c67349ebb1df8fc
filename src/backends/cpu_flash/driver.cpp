// Work split and threading of cpu_flash. First K and V are packed into panels, one per
// (sequence, kv head), in parallel; then the q tiles run. A unit of work is one q tile of one
// (sequence, query head); each runs start to end on one thread over kv tiles in a fixed order,
// so results do not depend on the number of threads or on the schedule. Heavier tiles (more
// visible keys) are handed out first, dynamically, because causal and windowed rows are
// imbalanced. When the panels of a whole problem would take too much memory, kv heads are
// processed in chunks that fit a budget.
#include "backends/cpu_flash/driver.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <vector>

#include "attend/flex.hpp"
#include "backends/cpu_flash/flex_tile.hpp"
#include "backends/cpu_flash/kernel_interface.hpp"
#include "common/visibility.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace attend::cpu_flash {
namespace {

constexpr double kLog2e = 1.4426950408889634;
constexpr std::size_t kAlign = 64;
// Most memory the packed K/V panels of one chunk may take.
constexpr std::size_t kPanelBudget = std::size_t{256} << 20;

std::size_t align_up(std::size_t bytes) {
  return (bytes + kAlign - 1) / kAlign * kAlign;
}
std::int64_t round_up(std::int64_t x, std::int64_t m) {
  return (x + m - 1) / m * m;
}

Elem elem_of(DType t) {
  return t == DType::bf16 ? Elem::bf16 : t == DType::f16 ? Elem::f16 : Elem::f32;
}

const IsaKernel& choose_kernel(Isa isa, DType dtype) {
  if (isa == Isa::avx512_bf16 && dtype != DType::bf16) isa = Isa::avx512;  // fp32 math suffices
  const IsaKernel* k = kernel_for(isa);
  return k ? *k : *kernel_for(Isa::generic);
}

ScratchLayout make_layout(const Problem& p, const IsaKernel& k) {
  const bool pairs = k.math == Math::bf16_dot;
  const std::size_t q_tile = static_cast<std::size_t>(k.q_tile);
  const std::size_t kv_tile = static_cast<std::size_t>(k.kv_tile);
  ScratchLayout L;
  std::size_t offset = 0;
  auto take = [&](std::size_t bytes) {
    const std::size_t at = offset;
    offset += align_up(bytes);
    return at;
  };
  const std::size_t qk_depth = static_cast<std::size_t>(pairs ? (p.D + 1) / 2 : p.D);
  L.qt = take(qk_depth * q_tile * 4);
  L.lo = take(q_tile * 4);
  L.hi = take(q_tile * 4);
  L.m = take(q_tile * 4);
  L.l = take(q_tile * 4);
  L.alpha = take(q_tile * 4);
  L.s = take(kv_tile * q_tile * 4);
  L.p = pairs ? take((kv_tile + 1) / 2 * q_tile * 4) : 0;
  L.ot = take(static_cast<std::size_t>(p.Dv) * q_tile * 4);
  L.v_copy = take(kv_tile * static_cast<std::size_t>(round_up(p.Dv, 16)) * 4);
  L.total = offset;
  return L;
}

KernelArgs make_args(const Problem& p, const IsaKernel& k, FlexState* flex) {
  KernelArgs a;
  a.problem = &p;
  a.elem = elem_of(p.dtype);
  a.math = k.math;
  a.lanes = k.lanes;
  a.q_tile = k.q_tile;
  a.kv_tile = k.kv_tile;
  if (p.softcap > 0) {
    a.score_factor = static_cast<float>(p.scale / p.softcap);
    a.softcap_log2 = static_cast<float>(p.softcap * kLog2e);
  } else if (flex != nullptr) {
    a.score_factor = static_cast<float>(p.scale);  // score_fn takes natural units
  } else {
    a.score_factor = static_cast<float>(p.scale * kLog2e);
  }
  a.has_mask = p.mask.present() || p.key_padding.present();
  a.dropout = p.dropout_p > 0;
  a.flex = flex;
  // Panel rows rounded to 64 bytes (16 operands of 4 bytes).
  a.k_ld = round_up(k.math == Math::bf16_dot ? (p.D + 1) / 2 : p.D, 16);
  a.v_ld = round_up(p.Dv, 16);
  a.layout = make_layout(p, k);
  return a;
}

// Byte offsets inside the panel of a sequence with `keys` keys (rows rounded up to a pair).
struct PanelLayout {
  std::size_t k = 0, v = 0, rows_flags = 0, tile_flags = 0, total = 0;
};

PanelLayout panel_layout(const KernelArgs& a, std::int64_t keys) {
  const std::size_t rows = static_cast<std::size_t>(round_up(keys, 2));
  const std::size_t tiles = static_cast<std::size_t>((keys + a.kv_tile - 1) / a.kv_tile);
  PanelLayout L;
  L.v = L.k + align_up(rows * static_cast<std::size_t>(a.k_ld) * 4);
  L.rows_flags = L.v + align_up(rows * static_cast<std::size_t>(a.v_ld) * 4);
  L.tile_flags = L.rows_flags + align_up(rows);
  L.total = L.tile_flags + align_up(tiles);
  return L;
}

// Every q tile of the query heads that read `panels`, heaviest first (visible keys x rows;
// the order is stable).
std::vector<QTile> make_work(const Problem& p, const KernelArgs& a,
                             const std::vector<Panel>& panels) {
  struct Item {
    QTile tile;
    std::int64_t cost;
  };
  std::vector<Item> items;
  const std::int64_t group = p.group();
  for (const Panel& panel : panels) {
    const common::SeqBounds seq = common::seq_bounds(p, panel.b);
    for (std::int64_t h = panel.kv_head * group; h < (panel.kv_head + 1) * group; ++h) {
      for (std::int64_t q0 = 0; q0 < seq.q_len; q0 += a.q_tile) {
        QTile t;
        t.b = panel.b;
        t.h = h;
        t.kv_head = panel.kv_head;
        t.q_start = seq.q_start;
        t.q_len = seq.q_len;
        t.k_start = seq.k_start;
        t.k_len = seq.k_len;
        t.q0 = q0;
        t.rows = static_cast<int>(std::min<std::int64_t>(a.q_tile, seq.q_len - q0));
        t.k_panel = panel.k;
        t.v_panel = panel.v;
        t.nonfinite_v_rows = panel.nonfinite_v_rows;
        t.nonfinite_v_tiles = panel.nonfinite_v_tiles;
        // Bands move monotonically with the row: the first and last rows bound the range.
        const common::KeyRange first = common::visible_keys(p, q0, seq.q_len, seq.k_len);
        const common::KeyRange last =
            common::visible_keys(p, q0 + t.rows - 1, seq.q_len, seq.k_len);
        const std::int64_t keys = std::max<std::int64_t>(0, last.hi - first.lo);
        items.push_back({t, keys * t.rows + t.rows});
      }
    }
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& x, const Item& y) { return x.cost > y.cost; });
  std::vector<QTile> work;
  work.reserve(items.size());
  for (const Item& item : items) work.push_back(item.tile);
  return work;
}

// One 64-byte aligned allocation, freed on scope exit. Large ones are aligned to 2 MiB and, on
// Linux, asked for transparent huge pages: faulting in the panels 4 KiB at a time costs about
// 1.5% of a causal 4096-token call.
class Block {
 public:
  explicit Block(std::size_t bytes)
      : align_(bytes >= kHugePage ? kHugePage : kAlign),
        data_(static_cast<std::byte*>(
            ::operator new (bytes > 0 ? bytes : kAlign, std::align_val_t{align_}))) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align_ == kHugePage) madvise(data_, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
#endif
  }
  ~Block() {
    ::operator delete (data_, std::align_val_t{align_});
  }
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  std::byte* data() const noexcept {
    return data_;
  }

 private:
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  std::size_t align_;
  std::byte* data_;
};

// Packs every panel of a chunk, kv tiles spread over the threads.
void pack_panels(const KernelArgs& a, const IsaKernel& kernel, const std::vector<Panel>& panels,
                 int threads) {
  struct Rows {
    std::size_t panel;
    std::int64_t j0, n;
  };
  std::vector<Rows> rows;
  for (std::size_t i = 0; i < panels.size(); ++i) {
    for (std::int64_t j0 = 0; j0 < panels[i].k_len; j0 += a.kv_tile) {
      rows.push_back({i, j0, std::min<std::int64_t>(a.kv_tile, panels[i].k_len - j0)});
    }
  }
  const std::int64_t n = static_cast<std::int64_t>(rows.size());
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t r = 0; r < n; ++r) {
    const Rows& w = rows[static_cast<std::size_t>(r)];
    kernel.pack_panel(a, panels[w.panel], w.j0, w.n);
  }
}

// Runs the q tiles of a chunk on `threads` threads, each with its own scratch.
void attend_tiles(const KernelArgs& a, const IsaKernel& kernel, const std::vector<QTile>& work,
                  std::byte* scratch, int threads) {
  const std::size_t per_thread = a.layout.total;
  const std::int64_t n = static_cast<std::int64_t>(work.size());
  // Nothing inside the region allocates or throws.
#pragma omp parallel num_threads(threads)
  {
    int me = 0;
#ifdef _OPENMP
    me = omp_get_thread_num();
#endif
    std::byte* mine = scratch + per_thread * static_cast<std::size_t>(me);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t w = 0; w < n; ++w) {
      QTile tile = work[static_cast<std::size_t>(w)];
      tile.scratch = mine;
      prepare_q_tile(a, tile);
      if (tile.kv_hi > tile.kv_lo) kernel.attend_kv(a, tile);
      finish_q_tile(a, tile);
    }
  }
}

}  // namespace

void run(const Problem& p) {
  if (p.B == 0 || p.Sq == 0 || p.Hq == 0 || p.Dv == 0) return;
  const IsaKernel& kernel = choose_kernel(selected_isa(), p.dtype);
  FlexState flex;
  const bool has_flex = p.flex != nullptr && p.flex->has_callables();
  flex.spec = p.flex;
  const KernelArgs args = make_args(p, kernel, has_flex ? &flex : nullptr);

  // Chunks of consecutive (sequence, kv head) panels whose packed K/V fit the budget (a chunk
  // holds at least one panel). Offsets first; pointers once the buffer exists.
  struct Slot {
    Panel panel;
    std::size_t offset;
    PanelLayout layout;
  };
  std::vector<std::vector<Slot>> chunks(1);
  std::size_t chunk_bytes = 0, buffer_bytes = 0;
  for (std::int64_t b = 0; b < p.B; ++b) {
    const common::SeqBounds seq = common::seq_bounds(p, b);
    if (seq.q_len == 0) continue;  // no query reads it
    const PanelLayout layout = panel_layout(args, seq.k_len);
    const std::size_t bytes = layout.total;
    for (std::int64_t kv_head = 0; kv_head < p.Hkv; ++kv_head) {
      if (!chunks.back().empty() && chunk_bytes + bytes > kPanelBudget) {
        chunks.emplace_back();
        chunk_bytes = 0;
      }
      Slot slot{{}, chunk_bytes, layout};
      slot.panel.b = b;
      slot.panel.kv_head = kv_head;
      slot.panel.k_start = seq.k_start;
      slot.panel.k_len = seq.k_len;
      chunks.back().push_back(slot);
      chunk_bytes += bytes;
      buffer_bytes = std::max(buffer_bytes, chunk_bytes);
    }
  }
  if (chunks.back().empty()) return;

  int threads = 1;
#ifdef _OPENMP
  threads = std::max(1, omp_get_max_threads());
#endif
  const std::size_t scratch_offset = align_up(buffer_bytes);
  const Block memory(scratch_offset + args.layout.total * static_cast<std::size_t>(threads));
  std::byte* const packed = memory.data();
  std::byte* const scratch = memory.data() + scratch_offset;
  std::vector<Panel> panels;
  for (const std::vector<Slot>& chunk : chunks) {
    panels.clear();
    for (const Slot& slot : chunk) {
      Panel panel = slot.panel;
      std::byte* base = packed + slot.offset;
      panel.k = base + slot.layout.k;
      panel.v = base + slot.layout.v;
      panel.nonfinite_v_rows = reinterpret_cast<std::uint8_t*>(base + slot.layout.rows_flags);
      panel.nonfinite_v_tiles = reinterpret_cast<std::uint8_t*>(base + slot.layout.tile_flags);
      panels.push_back(panel);
    }
    pack_panels(args, kernel, panels, threads);
    const std::vector<QTile> work = make_work(p, args, panels);
    attend_tiles(args, kernel, work, scratch,
                 std::max(1, std::min(threads, static_cast<int>(work.size()))));
    if (flex.failed.load()) std::rethrow_exception(flex.error);  // a callable threw
  }
}

}  // namespace attend::cpu_flash
