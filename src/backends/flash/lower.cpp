// Problem -> FlashParams: the one place the flash kernels' parameter conventions are written
// down (log2-domain scale, softcap split, band, dropout constants).
#include "backends/flash/lower.hpp"

namespace attend::flash {
namespace {
constexpr float kLog2e = 1.4426950408889634f;
}  // namespace

FlashParams lower(const Problem& pr) {
  FlashParams p;
  p.q = pr.q.data;
  p.k = pr.k.data;
  p.v = pr.v.data;
  p.out = pr.out.data;
  p.q_sb = pr.q.sb, p.q_ss = pr.q.ss, p.q_sh = pr.q.sh;
  p.k_sb = pr.k.sb, p.k_ss = pr.k.ss, p.k_sh = pr.k.sh;
  p.v_sb = pr.v.sb, p.v_ss = pr.v.ss, p.v_sh = pr.v.sh;
  p.o_sb = pr.out.sb, p.o_ss = pr.out.ss, p.o_sh = pr.out.sh;
  if (pr.lse.present()) {
    p.lse = pr.lse.data;
    p.lse_sb = pr.lse.sb, p.lse_sh = pr.lse.sh, p.lse_sq = pr.lse.sq;
  }
  if (pr.varlen) {
    p.cu_q = pr.cu_seqlens_q;
    p.cu_k = pr.cu_seqlens_k;
  }
  p.B = static_cast<int>(pr.B);
  p.Hq = static_cast<int>(pr.Hq);
  p.Hkv = static_cast<int>(pr.Hkv);
  p.group = static_cast<int>(pr.group());
  p.Sq = static_cast<int>(pr.Sq);
  p.Sk = static_cast<int>(pr.Sk);
  p.D = static_cast<int>(pr.D);
  if (pr.softcap > 0) {
    p.score_scale = static_cast<float>(pr.scale / pr.softcap);
    p.softcap_log2 = static_cast<float>(pr.softcap) * kLog2e;
  } else {
    p.score_scale = static_cast<float>(pr.scale) * kLog2e;
  }
  // Windows are clamped by the resolver to the reachable distance, so they fit in int.
  p.window_left = static_cast<int>(pr.window_left);
  p.window_right = static_cast<int>(pr.window_right);
  p.bottom_right = pr.align == Align::bottom_right;
  p.dropout_p = static_cast<float>(pr.dropout_p);
  p.dropout_scale = pr.dropout_p > 0 ? static_cast<float>(1.0 / (1.0 - pr.dropout_p)) : 1.f;
  p.dropout_seed = pr.dropout_seed;
  p.dropout_offset = pr.dropout_offset;
  return p;
}

}  // namespace attend::flash
