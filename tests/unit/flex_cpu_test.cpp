// Flex on the CPU: cpu_flash running a FlexSpec's callables, against the reference on the same
// problem written densely (a mask_fn as an attn_mask of 0 / -inf, an additive score_fn as an
// additive attn_mask, a tanh score_fn as Params::softcap). Then who refuses flex, the checks
// resolve makes on a spec, and the name helpers of the GPU side.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "attend/attend.hpp"
#include "common/elements.hpp"
#include "core/flex_names.hpp"
#include "support/host_problem.hpp"
#include "verdicts.hpp"

namespace attend {
namespace {

using I = std::int64_t;
using testing_verdicts::refuses_with;
using testing_verdicts::verdict;

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// What the reference adds to score (b, h, q_idx, kv_idx) in place of the flex spec; -inf hides.
using Term = std::function<double(I b, I h, I q_idx, I kv_idx)>;

double visible(bool keep) {
  return keep ? 0.0 : kNegInf;
}

support::ProblemSpec make_spec(DType dtype, I B, I Hq, I Hkv, I Sq, I Sk, I D = 32) {
  support::ProblemSpec s;
  s.B = B;
  s.Hq = Hq;
  s.Hkv = Hkv;
  s.Sq = Sq;
  s.Sk = Sk;
  s.D = D;
  s.dtype = dtype;
  s.lse = true;
  s.seed = 7;
  return s;
}

// Params knobs set the same way for both runs (causal, window, scale, ...).
using Knobs = std::function<void(Params&)>;

// `term` (plus the problem's own attn_mask, if any) as one f32 (B, Hq, Sq, Sk) additive mask.
std::vector<float> dense_mask(const Params& p, I B, I Hq, I Sq, I Sk, const Term& term) {
  std::vector<float> mask(static_cast<std::size_t>(B * Hq * Sq * Sk));
  const TensorView& own = p.attn_mask;
  for (I b = 0; b < B; ++b)
    for (I h = 0; h < Hq; ++h)
      for (I i = 0; i < Sq; ++i)
        for (I j = 0; j < Sk; ++j) {
          double x = term(b, h, i, j);
          if (own.present()) {  // full (B, Hq, Sq, Sk) shape
            const I o =
                b * own.strides[0] + h * own.strides[1] + i * own.strides[2] + j * own.strides[3];
            x += own.dtype == DType::boolean
                     ? visible(static_cast<const std::uint8_t*>(own.data)[o] != 0)
                     : common::load_element(own.data, own.dtype, o);
          }
          mask[static_cast<std::size_t>(((b * Hq + h) * Sq + i) * Sk + j)] = static_cast<float>(x);
        }
  return mask;
}

void expect_passes(const support::HostProblem& problem, const support::Output& got,
                   const support::Output& want) {
  const support::Comparison c = support::compare(problem, got, want);
  EXPECT_TRUE(support::passes(c, problem.spec().dtype))
      << problem.spec().describe() << ": rel_l2 " << c.rel_l2 << ", NaN " << c.nan
      << ", lse max abs " << c.lse_max_abs << ", lse -inf mismatches " << c.lse_mismatch;
}

// cpu_flash with `flex`, and math with `term` as a mask (and `softcap`), on the same inputs.
// Returns cpu_flash's output.
support::Output expect_same(const support::ProblemSpec& spec, const FlexSpec& flex,
                            const Term& term, const Knobs& knobs = {}, double softcap = 0.0) {
  const support::HostProblem problem(spec);
  support::Output got = problem.make_output(), want = problem.make_output();
  Params p = problem.params(got);
  if (knobs) knobs(p);
  p.flex = &flex;
  attention(p, "cpu_flash");

  Params r = problem.params(want);
  if (knobs) knobs(r);
  std::vector<float> mask;
  if (term && spec.B * spec.Hq * spec.Sq * spec.Sk > 0) {
    mask = dense_mask(r, spec.B, spec.Hq, spec.Sq, spec.Sk, term);
    r.attn_mask = view(mask.data(), DType::f32, cpu, {spec.B, spec.Hq, spec.Sq, spec.Sk});
  }
  r.softcap = softcap;
  attention(r, "math");
  expect_passes(problem, got, want);
  return got;
}

// Both precisions the kernels have: fp32 FMAs, and bf16 (vdpbf16ps where the CPU has it).
class FlexCpu : public ::testing::TestWithParam<DType> {
 protected:
  DType dtype() const { return GetParam(); }
};

TEST_P(FlexCpu, CausalMaskOnOddSizes) {
  FlexSpec flex;
  flex.mask_fn = [](I, I, I q, I k) { return q >= k; };
  const Term term = [](I, I, I q, I k) { return visible(q >= k); };
  expect_same(make_spec(dtype(), 2, 3, 3, 37, 53), flex, term);
  expect_same(make_spec(dtype(), 1, 2, 2, 150, 131), flex, term);  // several tiles both ways
}

TEST_P(FlexCpu, BottomRightCausalLeavesLeadingRowsEmpty) {
  const I Sq = 53, Sk = 37;  // queries 0..15 see no key
  FlexSpec flex;
  flex.mask_fn = [&](I, I, I q, I k) { return k <= q + Sk - Sq; };
  const Term term = [&](I, I, I q, I k) { return visible(k <= q + Sk - Sq); };
  const support::Output got = expect_same(make_spec(dtype(), 2, 2, 2, Sq, Sk), flex, term);
  for (I b = 0; b < 2; ++b)
    for (I h = 0; h < 2; ++h)
      for (I q = 0; q < Sq - Sk; ++q) {
        EXPECT_EQ(got.lse[static_cast<std::size_t>((b * 2 + h) * Sq + q)],
                  -std::numeric_limits<float>::infinity());
      }
}

TEST_P(FlexCpu, SlidingWindow) {
  const I left = 16;
  FlexSpec flex;
  flex.mask_fn = [&](I, I, I q, I k) { return k <= q && q - k <= left; };
  const Term term = [&](I, I, I q, I k) { return visible(k <= q && q - k <= left); };
  expect_same(make_spec(dtype(), 2, 2, 2, 150, 150), flex, term);
  expect_same(make_spec(dtype(), 1, 2, 2, 37, 53), flex, term);
}

TEST_P(FlexCpu, DocumentMaskPerBatch) {
  // Packed documents, a different packing per batch.
  const std::vector<std::vector<I>> lengths = {{17, 40, 1, 50, 22}, {64, 66}};
  std::vector<std::vector<I>> doc(2);
  for (std::size_t b = 0; b < 2; ++b) {
    for (std::size_t d = 0; d < lengths[b].size(); ++d) {
      doc[b].insert(doc[b].end(), static_cast<std::size_t>(lengths[b][d]), static_cast<I>(d));
    }
  }
  auto same_doc = [&](I b, I q, I k) { return doc[b][q] == doc[b][k]; };
  FlexSpec flex;
  flex.mask_fn = [&](I b, I, I q, I k) { return same_doc(b, q, k); };
  expect_same(make_spec(dtype(), 2, 2, 2, 130, 130), flex,
              [&](I b, I, I q, I k) { return visible(same_doc(b, q, k)); });
  // Causal within each document.
  flex.mask_fn = [&](I b, I, I q, I k) { return same_doc(b, q, k) && k <= q; };
  expect_same(make_spec(dtype(), 2, 2, 2, 130, 130), flex,
              [&](I b, I, I q, I k) { return visible(same_doc(b, q, k) && k <= q); });
}

TEST_P(FlexCpu, PrefixLm) {
  const I prefix = 20;
  FlexSpec flex;
  flex.mask_fn = [&](I, I, I q, I k) { return k < prefix || k <= q; };
  expect_same(make_spec(dtype(), 2, 2, 2, 100, 100), flex,
              [&](I, I, I q, I k) { return visible(k < prefix || k <= q); });
}

TEST_P(FlexCpu, AlibiWithGqaAndCausalParams) {
  // score_fn only; the causal band comes from Params and still applies. Slopes per query head.
  const I Hq = 4, Hkv = 2;
  std::vector<double> slope(Hq);
  for (I h = 0; h < Hq; ++h) slope[h] = std::exp2(-8.0 * static_cast<double>(h + 1) / Hq);
  FlexSpec flex;
  flex.score_fn = [&](float s, I, I h, I q, I k) {
    return s + static_cast<float>(slope[h]) * static_cast<float>(k - q);
  };
  const Term term = [&](I, I h, I q, I k) { return slope[h] * static_cast<double>(k - q); };
  const Knobs causal = [](Params& p) {
    p.is_causal = true;
    p.enable_gqa = true;
  };
  expect_same(make_spec(dtype(), 2, Hq, Hkv, 37, 53), flex, term, causal);
  expect_same(make_spec(dtype(), 1, Hq, Hkv, 130, 130), flex, term, causal);
}

TEST_P(FlexCpu, TanhSoftcapAsScoreFn) {
  const double cap = 8.0;
  FlexSpec flex;
  flex.score_fn = [&](float s, I, I, I, I) {
    return static_cast<float>(cap * std::tanh(static_cast<double>(s) / cap));
  };
  const Knobs large_scores = [](Params& p) { p.scale = 1.0; };  // scores of about +-6
  expect_same(make_spec(dtype(), 2, 2, 2, 37, 53), flex, {}, large_scores, cap);
  expect_same(make_spec(dtype(), 1, 2, 2, 130, 100), flex, {}, large_scores, cap);
}

TEST_P(FlexCpu, RelativePositionBiasFromATable) {
  const I Hq = 4, reach = 32;
  std::vector<float> table(static_cast<std::size_t>(Hq * (2 * reach + 1)));
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = static_cast<float>(std::sin(0.37 * i));
  auto bias = [&](I h, I q, I k) {
    const I d = std::clamp<I>(k - q, -reach, reach) + reach;
    return table[static_cast<std::size_t>(h * (2 * reach + 1) + d)];
  };
  FlexSpec flex;
  flex.score_fn = [&](float s, I, I h, I q, I k) { return s + bias(h, q, k); };
  flex.mask_fn = [](I, I, I q, I k) { return (q + k) % 7 != 0; };
  const Term term = [&](I, I h, I q, I k) {
    return (q + k) % 7 != 0 ? static_cast<double>(bias(h, q, k)) : kNegInf;
  };
  expect_same(make_spec(dtype(), 2, Hq, Hq, 37, 53), flex, term);
  expect_same(make_spec(dtype(), 1, Hq, Hq, 100, 150), flex, term);
}

TEST_P(FlexCpu, HeadIsTheQueryHeadUnderGqa) {
  // Query heads 0..3 share kv heads 0..1: a mask and bias that differ per query head only match
  // the reference if h is the query head.
  FlexSpec flex;
  flex.mask_fn = [](I, I h, I q, I k) { return (k + h) % 3 != 0 || k == q; };
  flex.score_fn = [](float s, I b, I h, I, I) {
    return s + 0.5f * static_cast<float>(h) - static_cast<float>(b);
  };
  const Term term = [](I b, I h, I q, I k) {
    return (k + h) % 3 != 0 || k == q ? 0.5 * static_cast<double>(h) - static_cast<double>(b)
                                      : kNegInf;
  };
  const Knobs gqa = [](Params& p) { p.enable_gqa = true; };
  expect_same(make_spec(dtype(), 2, 4, 2, 37, 53), flex, term, gqa);
  expect_same(make_spec(dtype(), 2, 4, 1, 37, 53), flex, term, gqa);
}

TEST_P(FlexCpu, RowsWithEveryKeyMaskedGiveZerosAndNegativeInfinity) {
  const I B = 2, H = 2, Sq = 37, Sk = 53;
  FlexSpec flex;
  flex.mask_fn = [](I, I, I q, I k) { return q % 4 != 1 && k <= q + 3; };
  const Term term = [](I, I, I q, I k) { return visible(q % 4 != 1 && k <= q + 3); };
  const support::Output got = expect_same(make_spec(dtype(), B, H, H, Sq, Sk), flex, term);
  for (I b = 0; b < B; ++b)
    for (I q = 1; q < Sq; q += 4)
      for (I h = 0; h < H; ++h) {
        for (I d = 0; d < 32; ++d) {
          const I o = ((b * Sq + q) * H + h) * 32 + d;
          EXPECT_EQ(common::load_element(got.out.data(), dtype(), o), 0.0);
        }
        EXPECT_EQ(got.lse[static_cast<std::size_t>((b * H + h) * Sq + q)],
                  -std::numeric_limits<float>::infinity());
      }
  // Nothing visible anywhere.
  flex.mask_fn = [](I, I, I, I) { return false; };
  expect_same(make_spec(dtype(), B, H, H, Sq, Sk), flex, [](I, I, I, I) { return kNegInf; });
}

TEST_P(FlexCpu, ZeroLengthSequences) {
  std::atomic<int> calls{0};
  FlexSpec flex;
  flex.mask_fn = [&](I, I, I q, I k) {
    ++calls;
    return q >= k;
  };
  const Term term = [](I, I, I q, I k) { return visible(q >= k); };
  expect_same(make_spec(dtype(), 2, 2, 2, 0, 19), flex, term);
  expect_same(make_spec(dtype(), 2, 2, 2, 19, 0), flex, term);
  EXPECT_EQ(calls.load(), 0);
}

TEST_P(FlexCpu, ParamsMasksStillApply) {
  // The flex mask ANDs with the causal band, a window, key padding and a boolean attn_mask.
  support::ProblemSpec spec = make_spec(dtype(), 2, 2, 2, 100, 120);
  spec.key_padding = true;
  spec.mask = support::MaskKind::boolean;
  FlexSpec flex;
  flex.mask_fn = [](I, I, I q, I k) { return (q / 10) % 3 != (k / 10) % 3; };
  flex.score_fn = [](float s, I, I, I q, I k) { return s - 0.01f * static_cast<float>(q - k); };
  const Term term = [](I, I, I q, I k) {
    return (q / 10) % 3 != (k / 10) % 3 ? -0.01 * static_cast<double>(q - k) : kNegInf;
  };
  expect_same(spec, flex, term, [](Params& p) {
    p.is_causal = true;
    p.window.left = 40;
  });
}

TEST_P(FlexCpu, OtherLayoutsAndStrides) {
  support::ProblemSpec spec = make_spec(dtype(), 2, 2, 2, 37, 53);
  spec.layout = Layout::BHSD;
  spec.strided = true;
  FlexSpec flex;
  flex.mask_fn = [](I, I, I q, I k) { return k <= q + 5; };
  expect_same(spec, flex, [](I, I, I q, I k) { return visible(k <= q + 5); });
}

TEST_P(FlexCpu, VarlenGivesSequenceIndexAndPositions) {
  // b is the sequence, q_idx and kv_idx positions inside it: each sequence matches the reference
  // run on that sequence alone.
  support::ProblemSpec spec = make_spec(dtype(), 0, 2, 2, 0, 0);
  spec.seqlens_q = {37, 0, 64, 100, 5};
  spec.seqlens_k = {53, 7, 64, 120, 0};
  const support::HostProblem problem(spec);
  auto keep = [](I b, I q, I k) { return (q + b) % 5 != 0 && k <= q + 2 * b; };
  FlexSpec flex;
  flex.mask_fn = [&](I b, I, I q, I k) { return keep(b, q, k); };
  flex.score_fn = [](float s, I b, I h, I, I) { return s + 0.25f * static_cast<float>(b - h); };

  support::Output got = problem.make_output(), want = problem.make_output();
  Params p = problem.params(got);
  p.flex = &flex;
  attention(p, "cpu_flash");

  const Params all = problem.params(want);
  const auto* cu_q = static_cast<const std::int32_t*>(all.cu_seqlens_q.data);
  const auto* cu_k = static_cast<const std::int32_t*>(all.cu_seqlens_k.data);
  const std::size_t element = size_of(spec.dtype);
  // Rows [first, first + len) of a THD tensor as a BSHD tensor of one sequence.
  auto rows = [&](const TensorView& t, I first, I len) {
    auto* data = static_cast<std::byte*>(t.data) + first * t.strides[0] * static_cast<I>(element);
    return view(data, t.dtype, cpu, {1, len, t.shape[1], t.shape[2]},
                {len * t.strides[0], t.strides[0], t.strides[1], t.strides[2]});
  };
  const I Hq = spec.Hq, Tq = cu_q[spec.seqlens_q.size()];
  for (std::size_t b = 0; b < spec.seqlens_q.size(); ++b) {
    const I q0 = cu_q[b], Sq = cu_q[b + 1] - q0, k0 = cu_k[b], Sk = cu_k[b + 1] - k0;
    if (Sq == 0) continue;
    Params r;
    r.q = rows(all.q, q0, Sq);
    r.k = rows(all.k, k0, Sk);
    r.v = rows(all.v, k0, Sk);
    r.out = rows(all.out, q0, Sq);
    r.lse = view(static_cast<float*>(all.lse.data) + q0, DType::f32, cpu, {1, Hq, Sq},
                 {Hq * Tq, Tq, 1});
    std::vector<float> mask;
    if (Sk > 0) {
      const I seq = static_cast<I>(b);
      mask = dense_mask(r, 1, Hq, Sq, Sk, [&](I, I h, I q, I k) {
        return keep(seq, q, k) ? 0.25 * static_cast<double>(seq - h) : kNegInf;
      });
      r.attn_mask = view(mask.data(), DType::f32, cpu, {1, Hq, Sq, Sk});
    }
    attention(r, "math");
  }
  expect_passes(problem, got, want);
}

TEST_P(FlexCpu, AnExceptionFromACallableReachesTheCaller) {
  const support::HostProblem problem(make_spec(dtype(), 2, 2, 2, 100, 120));
  support::Output out = problem.make_output();
  Params p = problem.params(out);
  FlexSpec flex;
  flex.score_fn = [](float s, I b, I h, I q, I k) {
    if (b == 1 && h == 1 && q == 99 && k == 7) throw std::out_of_range("no bias for this pair");
    return s;
  };
  p.flex = &flex;
  EXPECT_THROW(attention(p, "cpu_flash"), std::out_of_range);
  // The next call starts afresh.
  flex.score_fn = [](float s, I, I, I, I) { return s; };
  EXPECT_NO_THROW(attention(p, "cpu_flash"));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, FlexCpu, ::testing::Values(DType::f32, DType::bf16),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(name(info.param));
                         });

// A small CPU problem whose inputs explain() never reads.
class FlexChecks : public ::testing::Test {
 protected:
  FlexChecks() : problem_(quiet_spec()), out_(problem_.make_output()) {
    params_ = problem_.params(out_);
  }
  static support::ProblemSpec quiet_spec() {
    support::ProblemSpec s = make_spec(DType::f32, 1, 2, 2, 8, 8);
    s.random_inputs = false;
    return s;
  }
  Params with(const FlexSpec& flex) const {
    Params p = params_;
    p.flex = &flex;
    return p;
  }
  // The code resolve throws for the spec, or ok.
  Code resolve_code(const FlexSpec& flex) const {
    try {
      explain(with(flex));
    } catch (const Error& e) {
      return e.code();
    }
    return Code::ok;
  }

  support::HostProblem problem_;
  support::Output out_;
  Params params_;
};

TEST_F(FlexChecks, MathRefusesFlex) {
  FlexSpec flex;
  flex.mask_fn = [](I, I, I q, I k) { return q >= k; };
  const Explanation ex = explain(with(flex));
  EXPECT_TRUE(refuses_with(verdict(ex, "math"), Code::flex));
  EXPECT_TRUE(verdict(ex, "cpu_flash").ok);
}

TEST_F(FlexChecks, CpuFlashRefusesSourceOnly) {
  FlexSpec flex;
  flex.mask_mod = "q_idx >= kv_idx";
  const Explanation ex = explain(with(flex));
  EXPECT_TRUE(refuses_with(verdict(ex, "cpu_flash"), Code::flex));
  // With callables as well, cpu_flash runs those.
  flex.mask_fn = [](I, I, I q, I k) { return q >= k; };
  EXPECT_TRUE(verdict(explain(with(flex)), "cpu_flash").ok);
}

TEST_F(FlexChecks, CpuFlashRefusesSoftcapAndDropoutWithFlex) {
  FlexSpec flex;
  flex.score_fn = [](float s, I, I, I, I) { return s; };
  Params p = with(flex);
  p.softcap = 30.0;
  const Verdict softcap = verdict(explain(p), "cpu_flash");
  ASSERT_TRUE(refuses_with(softcap, Code::flex));
  bool names_score_fn = false;
  for (const Reason& r : softcap.reasons)
    names_score_fn |= r.expected.find("score_fn") != std::string::npos;
  EXPECT_TRUE(names_score_fn) << "the reason should say to write the softcap in score_fn";
  p = with(flex);
  p.dropout_p = 0.1;
  EXPECT_TRUE(refuses_with(verdict(explain(p), "cpu_flash"), Code::flex));
}

TEST_F(FlexChecks, ResolveChecksTheSpec) {
  EXPECT_EQ(resolve_code(FlexSpec{}), Code::flex);  // nothing to run

  float data[4] = {};
  const TensorView t = view(data, DType::f32, cpu, {4});
  FlexSpec flex;
  flex.mask_mod = "q_idx >= kv_idx";
  for (const char* bad : {"score", "b", "kv_idx", "1x", "", "_x", "float", "a-b"}) {
    flex.tensors = {{bad, t}};
    EXPECT_EQ(resolve_code(flex), Code::flex) << "'" << bad << "'";
  }
  flex.tensors = {{"doc", t}, {"doc", t}};
  EXPECT_EQ(resolve_code(flex), Code::flex);  // twice the same name
  flex.tensors.clear();
  for (int i = 0; i < 9; ++i) flex.tensors.push_back({"t" + std::to_string(i), t});
  EXPECT_EQ(resolve_code(flex), Code::flex);  // more than 8
  flex.tensors.pop_back();
  EXPECT_EQ(resolve_code(flex), Code::ok);  // 8 is fine
}

TEST(FlexNames, Identifiers) {
  for (const char* good : {"doc", "bias_table", "x1", "B", "H", "score2", "idx"}) {
    EXPECT_TRUE(core::is_flex_identifier(good)) << good;
  }
  for (const char* bad : {"", "1x", "score", "b", "h", "q_idx", "kv_idx", "_x", "__y", "float",
                          "return", "int", "a-b", "a b", "x.y"}) {
    EXPECT_FALSE(core::is_flex_identifier(bad)) << "'" << bad << "'";
  }
}

TEST(FlexNames, Mentions) {
  EXPECT_FALSE(core::mentions("q_idx >= kv_idx", "b"));
  EXPECT_TRUE(core::mentions("doc[b * 8 + q_idx]", "b"));
  EXPECT_TRUE(core::mentions("return score + slope[h] * (kv_idx - q_idx);", "h"));
  EXPECT_TRUE(core::mentions("b", "b"));
  EXPECT_FALSE(core::mentions("bb + b2 + ab + _b", "b"));
  EXPECT_FALSE(core::mentions("q_idx // uses b\n >= kv_idx", "b"));
  EXPECT_FALSE(core::mentions("/* b */ q_idx", "b"));
  EXPECT_FALSE(core::mentions("q_idx /* unterminated b", "b"));
  EXPECT_FALSE(core::mentions("'b' == \"b\" && \"\\\"b\"", "b"));
  EXPECT_FALSE(core::mentions("score * 1.5f + 0x1b + 2e5 + 1.0e-3f", "b"));
  EXPECT_FALSE(core::mentions("score * 1.5f", "f"));
  EXPECT_TRUE(core::mentions("1.5f * b", "b"));
  EXPECT_FALSE(core::mentions("", "b"));
}

}  // namespace
}  // namespace attend
