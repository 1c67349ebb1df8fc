#include "conformance/case_grid.hpp"

namespace attend::conformance {

using support::MaskKind;
using support::ProblemSpec;

void append_variants(const ProblemSpec& s, const GridSizes& sizes, std::vector<ProblemSpec>& out) {
  for (std::int64_t d : {32, 64, 80, 96, 128, 256}) {
    ProblemSpec c = s;
    c.D = d;
    out.push_back(c);
  }
  for (Align a : {Align::top_left, Align::bottom_right}) {
    for (auto [sq, sk] : sizes.causal) {
      ProblemSpec c = s;
      c.causal = true, c.align = a, c.Sq = sq, c.Sk = sk;
      out.push_back(c);
    }
  }
  for (auto [hq, hkv] : {std::pair{4, 2}, {8, 1}}) {
    ProblemSpec c = s;
    c.Hq = hq, c.Hkv = hkv;
    out.push_back(c);
    c.causal = true;
    c.align = Align::bottom_right;
    if (sizes.gqa_causal_sq > 0) c.Sq = sizes.gqa_causal_sq;
    out.push_back(c);
  }
  for (const auto& shape : sizes.mask_shapes) {
    for (MaskKind k : {MaskKind::boolean, MaskKind::additive}) {
      ProblemSpec c = s;
      c.mask = k;
      c.mask_shape = shape;
      out.push_back(c);
    }
  }
  {
    ProblemSpec c = s;
    c.mask = MaskKind::boolean;
    c.mask_keep = 0.05;  // many rows end up fully masked
    c.causal = true;
    out.push_back(c);
  }
  {
    ProblemSpec c = s;
    if (sizes.key_padding_batch > 0) c.B = sizes.key_padding_batch;
    c.key_padding = true;  // batch 1 fully padded
    out.push_back(c);
    c.mask = MaskKind::additive;
    out.push_back(c);
  }
  for (Window w : {Window{8, 0}, Window{4, 4}, Window{0, 6}, Window{-1, 3}}) {
    ProblemSpec c = s;
    c.window = w;
    out.push_back(c);
  }
  {
    ProblemSpec c = s;
    c.window = {5, -1};
    c.causal = true;
    c.align = Align::bottom_right;
    out.push_back(c);
  }
  {
    ProblemSpec c = s;
    c.softcap = 5.0;
    out.push_back(c);
    c.scale = 0.3;
    c.causal = true;
    out.push_back(c);
  }
  for (const SeqLens& lens : sizes.varlen) {
    ProblemSpec c = s;
    c.seqlens_q = lens.first;
    c.seqlens_k = lens.second;
    out.push_back(c);
    c.causal = true;
    c.align = Align::bottom_right;
    c.Hq = 4, c.Hkv = 2;
    out.push_back(c);
  }
  {
    ProblemSpec c = s;
    c.dropout_p = 0.15;
    out.push_back(c);
  }
  {
    ProblemSpec c = s;
    c.Dv = 32;
    out.push_back(c);
    c.D = 17, c.Dv = 0;
    out.push_back(c);
  }
  {
    ProblemSpec c = s;
    c.layout = Layout::BHSD;
    out.push_back(c);
    c.strided = true;
    out.push_back(c);
    c.layout = Layout::BSHD;
    c.causal = true;
    out.push_back(c);
  }
  for (auto [b, sq, sk] : sizes.empty) {
    ProblemSpec c = s;
    c.B = b, c.Sq = sq, c.Sk = sk;
    out.push_back(c);
  }
}

void number_seeds(std::vector<ProblemSpec>& specs, std::uint64_t first) {
  for (ProblemSpec& s : specs) s.seed = first++;
}

}  // namespace attend::conformance
