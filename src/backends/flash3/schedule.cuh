// Which query tile a persistent block works on next, where its sequence lies, and which key
// blocks it visits. The producer and both consumer warpgroups of a block walk the same
// sequence independently: every decision here is a pure function of the tile index.
#pragma once

#include "backends/flash/band.cuh"
#include "backends/flash/sequence.cuh"
#include "backends/flash3/params.hpp"

namespace attend::flash3 {

struct Tile {
  int m_block, h, b;
};

// Without a block list, tiles are numbered query block fastest, then head, then batch, and block
// i takes tiles i, i + gridDim.x, ...: the blocks running at one time share a head (or the heads of
// one GQA group), so its K and V stay in L2 while they pass. Within a head the last query blocks
// come first: under causal masking they are the longest, and the short ones fill the tail.
// With a tile queue (params.hpp: TileQueue) the (batch, head) pairs go in groups; within a
// group the last query blocks of all its pairs come first, then the ones before them, so that
// tiles are taken longest first while the running blocks stay within a group or two.
__device__ __forceinline__ Tile tile_at(int t, const Flash3Params& p) {
  Tile w;
  int pair;  // b · Hq + h
  if (p.queue.next != nullptr) {
    const int g = p.queue.group, per_group = g * p.m_blocks;
    const int r = t % per_group;
    w.m_block = p.m_blocks - 1 - r / g;
    pair = t / per_group * g + r % g;
  } else {
    w.m_block = p.m_blocks - 1 - t % p.m_blocks;
    pair = t / p.m_blocks;
  }
  w.h = pair % p.f.Hq;
  w.b = pair / p.f.Hq;
  return w;
}

// The k-th tile block blockIdx.x takes: blockIdx.x, + gridDim.x, ... With a block list, whose
// tiles come longest first, the grid is walked as a snake (every other round backwards), so
// each block's long and short tiles even out instead of the first blocks taking the longest
// of every round.
template <bool kList>
__device__ __forceinline__ int block_tile(int k) {
  const int i = static_cast<int>(blockIdx.x), g = static_cast<int>(gridDim.x);
  return k * g + (kList && (k & 1) ? g - 1 - i : i);
}

// One piece of a block's work: tile t, visits [from, to) of its key walk (to < 0: all of them).
// A tile cut in two (the shared tail) has two units: its last visits, which the block after
// runs first and hands over (from > 0), and its first visits, which this block runs last
// before it takes that state over and finishes the tile (to < the tail's key_blocks). The
// hand-over slot is the index of the block that starts there.
struct Unit {
  int t = 0;
  int from = 0, to = -1;
  __device__ __forceinline__ bool hands_over() const { return from > 0; }
  __device__ __forceinline__ bool takes_over(const StreamTail& tail) const {
    return to >= 0 && to < tail.key_blocks;
  }
};

// The k-th unit of block blockIdx.x (false past its last): whole tiles block_tile(0),
// block_tile(1), ... below the shared tail, then its run of the tail's key blocks, which is
// [i·J/G, (i+1)·J/G) of the tail's J = tiles · key_blocks visits for block i of G. With at least
// one tile's visits per block, a tile is cut in two at most, at a run boundary. A pure function
// of k, so that a loop carries nothing else.
template <bool kList>
__device__ __forceinline__ bool unit_at(int k, const Flash3Params& p, Unit& u) {
  u.from = 0;
  u.to = -1;
  if (p.tail.tiles == 0) {
    u.t = block_tile<kList>(k);
    return u.t < p.tiles;
  }
  const int whole = p.tiles - p.tail.tiles, rounds = whole / static_cast<int>(gridDim.x);
  if (k < rounds) {
    u.t = block_tile<kList>(k);
    return true;
  }
  const int nb = p.tail.key_blocks;
  const int visits = p.tail.tiles * nb, g = static_cast<int>(gridDim.x);  // visits·g < 2^31
  const int i = static_cast<int>(blockIdx.x), lo = visits * i / g, hi = visits * (i + 1) / g;
  const int tile = lo / nb + (k - rounds), start = tile * nb;
  if (start >= hi) return false;
  u.t = whole + tile;
  u.from = max(lo - start, 0);
  u.to = min(hi - start, nb);
  return true;
}

using flash::Sequence;
using flash::sequence_of;

// Key blocks [begin, end) that some row of the query tile [m0, m0 + rows) can see, and the
// keys [full_lo, full_hi) that every row sees: blocks inside it skip per-element masks.
struct KeyBlocks {
  flash::Band band;
  int begin, end;
  int full_lo, full_hi;
  __device__ __forceinline__ bool masked(int n, int block_n) const {
    return !(n * block_n >= full_lo && (n + 1) * block_n <= full_hi);
  }
};

__device__ __forceinline__ KeyBlocks key_blocks(const flash::FlashParams& p, const Sequence& s,
                                                int m0, int rows, int block_n) {
  KeyBlocks r;
  r.band = flash::Band{p.bottom_right ? static_cast<long long>(s.k_len) - s.q_len : 0LL,
                       p.window_left, p.window_right, s.k_len};
  const int first = m0, last = m0 + rows - 1;
  const int lo = r.band.lo(first), hi = r.band.hi(last);
  r.begin = lo / block_n;
  r.end = hi > lo ? (hi + block_n - 1) / block_n : r.begin;
  r.full_lo = r.band.lo(last);
  r.full_hi = r.band.hi(first);
  return r;
}

// The key blocks a query tile visits, in order. Without a block list: the band's blocks from the
// last to the first (the diagonal ones, which need masks, come first). With one (a flex block
// mask): its partial tiles, then its full ones.
template <bool kList>
struct KeyWalk {
  int count = 0;
  int first = 0;    // no list: the block visited first
  int partial = 0;  // list: visits [0, partial) are partial tiles
  const int* partial_at = nullptr;
  const int* full_at = nullptr;
  const int* slot_at = nullptr;  // list: each partial tile's mask-bit slot (-1, or no list: none)
  __device__ __forceinline__ int at(int i) const {
    if constexpr (kList) {
      return i < partial ? partial_at[i] : full_at[i - partial];
    } else {
      return first - i;
    }
  }
  // Whether visit i needs the flex mask function (the full tiles of a list skip it).
  __device__ __forceinline__ bool partial_tile(int i) const { return kList && i < partial; }
  // Where a partial visit's mask bits are (-1: evaluate mask_mod); -1 for other visits and for
  // block masks that keep no bits.
  __device__ __forceinline__ int bit_slot(int i) const {
    return partial_tile(i) && slot_at != nullptr ? slot_at[i] : -1;
  }
};

// Everything the producer and the consumers derive from a unit's tile t: its coordinates, its
// sequence, its first query row and its key blocks (the unit's share of them). False when the
// tile lies past the end of its sequence (a shorter packed sequence): nothing to do.
template <bool kList>
struct TileWork {
  Tile w;
  Sequence s;
  int m0;
  KeyBlocks keys;
  KeyWalk<kList> walk;
};

template <int kBlockRows, bool kList>
__device__ __forceinline__ bool tile_work(const Unit& u, const Flash3Params& p, int block_n,
                                          TileWork<kList>& out) {
  const int t = u.t;
  long long row = 0;  // the block mask's row of the tile
  if constexpr (kList) {
    // Tiles follow the mask's rows, most visited first (l.order); each row stands for every
    // batch and head the mask does not name, adjacent in t.
    const FlexBlockList& l = p.flex.blocks;
    const int reps_h = p.f.Hq / l.heads, reps = (p.f.B / l.batches) * reps_h;
    const int rep = t % reps;
    row = l.order[t / reps];
    out.w.m_block = static_cast<int>(row % p.m_blocks);
    const int bh = static_cast<int>(row / p.m_blocks);
    out.w.h = l.heads == 1 ? rep % reps_h : bh % l.heads;
    out.w.b = l.batches == 1 ? rep / reps_h : bh / l.heads;
  } else {
    out.w = tile_at(t, p);
  }
  out.s = sequence_of(p.f, out.w.b);
  out.m0 = out.w.m_block * kBlockRows;
  if (out.m0 >= out.s.q_len) return false;
  out.keys = key_blocks(p.f, out.s, out.m0, min(kBlockRows, out.s.q_len - out.m0), block_n);
  if constexpr (kList) {
    const FlexBlockList& l = p.flex.blocks;
    out.walk.partial = l.counts[2 * row];
    out.walk.count = out.walk.partial + l.counts[2 * row + 1];
    out.walk.partial_at = l.partial + row * l.key_tiles;
    out.walk.full_at = l.full + row * l.key_tiles;
    out.walk.slot_at = l.slots != nullptr ? l.slots + row * l.key_tiles : nullptr;
  } else {
    out.walk.count = out.keys.end - out.keys.begin;
    out.walk.first = out.keys.end - 1;
    if (u.to >= 0) {  // a piece of a tile of the shared tail
      out.walk.count = u.to - u.from;
      out.walk.first -= u.from;
    }
  }
  return true;
}

}  // namespace attend::flash3
