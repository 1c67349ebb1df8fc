#include "check_cases.hpp"

#include <array>
#include <functional>
#include <random>

namespace attend::cli {
namespace {

using Rng = std::mt19937_64;
using support::MaskKind;
using support::ProblemSpec;

constexpr std::array<DType, 3> kDtypes = {DType::f32, DType::bf16, DType::f16};
constexpr std::array<std::int64_t, 6> kHeadDims = {32, 64, 80, 96, 128, 256};

std::int64_t uniform(Rng& rng, std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

// Mask shapes by name: every way (B, H, Sq, Sk) broadcasts, in ranks 2, 3 and 4.
std::vector<std::int64_t> mask_shape(const ProblemSpec& s, int which) {
  const std::int64_t B = s.B, H = s.Hq, Sq = s.Sq, Sk = s.Sk;
  const std::vector<std::vector<std::int64_t>> shapes = {
      {Sq, Sk},       {1, Sk},       {B, Sq, Sk},   {B, 1, Sk},     {B, H, Sq, Sk},
      {1, H, Sq, Sk}, {B, 1, 1, Sk}, {1, 1, Sq, 1}, {1, 1, Sq, Sk}, {B, 1, Sq, Sk}};
  return shapes[static_cast<std::size_t>(which) % shapes.size()];
}

struct Feature {
  const char* name;
  std::function<void(ProblemSpec&, Rng&, int round)> apply;
};

std::vector<Feature> features() {
  auto different = [](ProblemSpec& s, Rng& rng) {
    while (s.Sk == s.Sq) s.Sk = uniform(rng, 1, s.Sq + 40);
  };
  return {
      {"square", [](ProblemSpec& s, Rng&, int) { s.Sk = s.Sq; }},
      {"cross", [=](ProblemSpec& s, Rng& rng, int) { different(s, rng); }},
      {"causal-square",
       [](ProblemSpec& s, Rng&, int) {
         s.Sk = s.Sq;
         s.causal = true;
       }},
      {"causal-tl",
       [=](ProblemSpec& s, Rng& rng, int) {
         different(s, rng);
         s.causal = true;
         s.align = Align::top_left;
       }},
      {"causal-br",
       [=](ProblemSpec& s, Rng& rng, int) {
         different(s, rng);
         s.causal = true;
         s.align = Align::bottom_right;
       }},
      {"gqa",
       [](ProblemSpec& s, Rng& rng, int) {
         s.Hkv = uniform(rng, 1, 2);
         s.Hq = s.Hkv * uniform(rng, 2, 4);
       }},
      {"bool-mask",
       [](ProblemSpec& s, Rng&, int round) {
         s.mask = MaskKind::boolean;
         s.mask_shape = mask_shape(s, round);
       }},
      {"additive-mask",
       [](ProblemSpec& s, Rng&, int round) {
         s.mask = MaskKind::additive;
         s.mask_shape = mask_shape(s, round + 3);
       }},
      {"mask+causal",
       [](ProblemSpec& s, Rng&, int round) {
         s.mask = round % 2 ? MaskKind::additive : MaskKind::boolean;
         s.mask_shape = mask_shape(s, round + 5);
         s.causal = true;
         s.align = round % 3 ? Align::bottom_right : Align::top_left;
       }},
      {"key-padding",
       [](ProblemSpec& s, Rng& rng, int) {
         s.B = uniform(rng, 2, 3);  // HostProblem pads batch 1 out entirely
         s.key_padding = true;
       }},
      {"window",
       [](ProblemSpec& s, Rng&, int round) {
         const Window windows[] = {{8, 0}, {16, 16}, {-1, 4}, {0, -1}, {32, 8}, {3, 3}};
         s.window = windows[round % 6];
         s.align = round % 2 ? Align::bottom_right : Align::top_left;
       }},
      {"softcap",
       [](ProblemSpec& s, Rng&, int round) {
         const double caps[] = {1.5, 5.0, 30.0};
         s.softcap = caps[round % 3];
       }},
      {"varlen",
       [](ProblemSpec& s, Rng& rng, int round) {
         const std::int64_t n = uniform(rng, 2, 4);
         for (std::int64_t i = 0; i < n; ++i) {
           s.seqlens_q.push_back(uniform(rng, 1, s.Sq));
           s.seqlens_k.push_back(uniform(rng, 1, s.Sk));
         }
         // Empty sequences on both sides, and one with queries but no keys.
         s.seqlens_q[0] = 0;
         s.seqlens_k[0] = 0;
         s.seqlens_k[static_cast<std::size_t>(n - 1)] = round % 2 ? 0 : s.seqlens_k.back();
         s.causal = round % 3 == 1;
         s.align = round % 2 ? Align::bottom_right : Align::top_left;
       }},
      {"lse", [](ProblemSpec& s, Rng&, int) { s.lse = true; }},
      {"dropout", [](ProblemSpec& s, Rng&, int round) { s.dropout_p = round % 2 ? 0.3 : 0.1; }},
      {"bhsd", [](ProblemSpec& s, Rng&, int) { s.layout = Layout::BHSD; }},
      {"strided", [](ProblemSpec& s, Rng&, int) { s.strided = true; }},
      {"dv",
       [](ProblemSpec& s, Rng&, int round) {
         s.Dv = kHeadDims[static_cast<std::size_t>(round + 2) % kHeadDims.size()];
         if (s.Dv == s.D) s.Dv = s.D == 64 ? 32 : 64;
       }},
  };
}

}  // namespace

std::vector<CheckCase> check_cases(bool quick, std::uint64_t seed) {
  const int rounds = quick ? 3 : 20;
  const std::int64_t max_seq = quick ? 64 : 200;  // past one tile of the CPU kernels
  Rng rng(seed);
  const std::vector<Feature> all = features();
  std::vector<CheckCase> cases;
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t f = 0; f < all.size(); ++f) {
      ProblemSpec s;
      s.seed = seed * 1000003 + cases.size();
      s.dtype = kDtypes[(f + static_cast<std::size_t>(round)) % kDtypes.size()];
      s.D = kHeadDims[(f + 5 * static_cast<std::size_t>(round)) % kHeadDims.size()];
      const std::int64_t seq = s.D > 128 ? max_seq / 2 : max_seq;  // keeps math quick
      s.B = uniform(rng, 1, 2);
      s.Hkv = uniform(rng, 1, 2);
      s.Hq = s.Hkv;
      s.Sq = uniform(rng, 1, seq);
      s.Sk = uniform(rng, 1, seq);
      all[f].apply(s, rng, round);
      // Extra axes on top of the case's own, so features also meet each other.
      const bool varlen = s.varlen();
      if (!s.lse && uniform(rng, 0, 3) == 0) s.lse = true;
      if (!varlen && s.Hq == s.Hkv && uniform(rng, 0, 4) == 0) s.Hq = s.Hkv * 2;
      if (s.mask != MaskKind::none && s.mask_shape.size() == 4 && s.mask_shape[1] != 1) {
        s.mask_shape[1] = s.Hq;  // the head count may have changed after the shape was taken
      }
      cases.push_back({all[f].name, std::move(s)});
    }
  }
  return cases;
}

}  // namespace attend::cli
