// The flex backend against cuda_math on the equivalent dense problem: each mask_mod becomes a
// dense mask, each additive score_mod a dense bias (tanh softcap: Params::softcap), on random
// data with odd sizes, GQA, LSE, fully masked rows and empty problems; block masks built once
// and reused, their partial tiles' bits kept or (past the slots) evaluated again; and a source
// error reported with the snippet's line.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "attend/attend.hpp"
#include "gpu_fixture.hpp"

#if ATTEND_TEST_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace attend {
namespace {

using namespace gpu_testing;
using Index = std::int64_t;

#if ATTEND_TEST_WITH_CUDA
// Device memory holding a copy of a host vector.
struct DeviceBuffer {
  void* data = nullptr;
  template <class T>
  explicit DeviceBuffer(const std::vector<T>& host) {
    EXPECT_EQ(cudaMalloc(&data, std::max<std::size_t>(host.size() * sizeof(T), 1)), cudaSuccess);
    cudaMemcpy(data, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice);
  }
  ~DeviceBuffer() { cudaFree(data); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// A flex spec and its dense equivalent: which pairs are visible, and what is added to a score.
struct Case {
  FlexSpec spec;
  std::function<bool(Index b, Index h, Index q, Index kv)> visible;
  std::function<float(Index b, Index h, Index q, Index kv)> bias;
  double softcap = 0;
};

support::ProblemSpec shape(Index B, Index Hq, Index Hkv, Index Sq, Index Sk, Index D) {
  support::ProblemSpec s;
  s.dtype = DType::bf16;
  s.B = B, s.Hq = Hq, s.Hkv = Hkv, s.Sq = Sq, s.Sk = Sk, s.D = D;
  s.lse = true;
  return s;
}

// flex on `spec` against cuda_math with the dense mask; the output poisoned before flex runs.
void expect_matches_dense(const Case& c, support::ProblemSpec spec, bool reuse_block_mask = false) {
  require_available("flex");
  if (::testing::Test::IsSkipped()) return;
  SCOPED_TRACE(spec.describe());
  support::HostProblem host(spec);
  support::DeviceProblem dev(host);
  std::vector<float> dense(static_cast<std::size_t>(spec.B * spec.Hq * spec.Sq * spec.Sk));
  std::size_t i = 0;
  for (Index b = 0; b < spec.B; ++b)
    for (Index h = 0; h < spec.Hq; ++h)
      for (Index q = 0; q < spec.Sq; ++q)
        for (Index kv = 0; kv < spec.Sk; ++kv, ++i) {
          const bool v = !c.visible || c.visible(b, h, q, kv);
          dense[i] = !v       ? -std::numeric_limits<float>::infinity()
                     : c.bias ? c.bias(b, h, q, kv)
                              : 0.f;
        }
  DeviceBuffer mask(dense);
  Params ref = dev.params();
  ref.attn_mask = view(mask.data, DType::f32, Device::cuda(0), {spec.B, spec.Hq, spec.Sq, spec.Sk});
  ref.softcap = c.softcap;
  attention(ref, "cuda_math");
  const support::Output want = dev.download();

  FlexSpec fs = c.spec;
  Params p = dev.params();
  p.flex = &fs;
  if (reuse_block_mask) fs.block_mask = flex_block_mask(fs, p);
  for (int call = 0; call < (reuse_block_mask ? 2 : 1); ++call) {
    dev.poison_outputs();
    if (auto why = refusal(p, "flex")) {
      ADD_FAILURE() << "flex refuses: " << *why;
      return;
    }
    attention(p, "flex");
    const support::Comparison cmp = support::compare(host, dev.download(), want);
    EXPECT_TRUE(support::passes(cmp, spec.dtype)) << describe(cmp);
  }
}

// Skips the test where flex cannot run (before it allocates anything on a device).
#define REQUIRE_FLEX()                        \
  do {                                        \
    require_available("flex");                \
    if (::testing::Test::IsSkipped()) return; \
  } while (0)

FlexSpec mask_spec(std::string mask) {
  FlexSpec s;
  s.mask_mod = std::move(mask);
  return s;
}

TEST(Flex, CausalAndSlidingWindow) {
  REQUIRE_FLEX();
  Case causal{mask_spec("q_idx >= kv_idx"),
              [](Index, Index, Index q, Index kv) { return q >= kv; }};
  expect_matches_dense(causal, shape(2, 4, 2, 300, 517, 128));
  expect_matches_dense(causal, shape(1, 3, 3, 640, 640, 64), true);
  Case window{mask_spec("q_idx - kv_idx <= 40 && kv_idx - q_idx <= 40"),
              [](Index, Index, Index q, Index kv) { return std::llabs(q - kv) <= 40; }};
  expect_matches_dense(window, shape(1, 2, 2, 777, 777, 128), true);
  expect_matches_dense(window, shape(1, 2, 1, 333, 290, 256));
}

TEST(Flex, DocumentMask) {
  REQUIRE_FLEX();
  const Index S = 1000;
  std::vector<int> doc(S);
  const Index ends[] = {130, 131, 400, 777, 1000};  // documents of 130, 1, 269, 377, 223 tokens
  for (Index t = 0, d = 0; t < S; ++t) {
    while (t >= ends[d]) ++d;
    doc[static_cast<std::size_t>(t)] = static_cast<int>(d);
  }
  DeviceBuffer ids(doc);
  Case c{mask_spec("doc[q_idx] == doc[kv_idx]"),
         [&](Index, Index, Index q, Index kv) { return doc[q] == doc[kv]; }};
  c.spec.tensors = {{"doc", view(ids.data, DType::i32, Device::cuda(0), {S})}};
  expect_matches_dense(c, shape(1, 4, 4, S, S, 128), true);
}

TEST(Flex, PrefixLmPerBatch) {
  REQUIRE_FLEX();
  std::vector<long long> prefix = {37, 500};
  DeviceBuffer d(prefix);
  Case c{mask_spec("kv_idx < prefix[b] || q_idx >= kv_idx"),
         [&](Index b, Index, Index q, Index kv) { return kv < prefix[b] || q >= kv; }};
  c.spec.tensors = {{"prefix", view(d.data, DType::i64, Device::cuda(0), {2})}};
  expect_matches_dense(c, shape(2, 2, 2, 600, 600, 64), true);
}

TEST(Flex, AlibiWithCausal) {
  REQUIRE_FLEX();
  const Index H = 4;
  std::vector<float> slopes(H);
  for (Index h = 0; h < H; ++h) slopes[h] = std::exp2f(-8.f * (h + 1) / H);
  DeviceBuffer d(slopes);
  Case c{mask_spec("q_idx >= kv_idx"), [](Index, Index, Index q, Index kv) { return q >= kv; },
         [&](Index, Index h, Index q, Index kv) { return slopes[h] * static_cast<float>(kv - q); }};
  c.spec.score_mod = "score + slopes[h] * (kv_idx - q_idx)";
  c.spec.tensors = {{"slopes", view(d.data, DType::f32, Device::cuda(0), {H})}};
  expect_matches_dense(c, shape(2, H, 2, 513, 513, 128));  // GQA: h is the query head
}

TEST(Flex, TanhSoftcapAsScoreMod) {
  REQUIRE_FLEX();
  Case c;
  c.spec.score_mod = "20.0f * tanhf(score / 20.0f)";
  c.softcap = 20;
  expect_matches_dense(c, shape(1, 4, 4, 257, 700, 128));
  expect_matches_dense(c, shape(2, 2, 2, 130, 64, 64));
}

TEST(Flex, RelativePositionBiasFromTable) {
  REQUIRE_FLEX();
  const Index H = 3, Sq = 310, Sk = 290, width = Sq + Sk - 1;
  std::vector<float> table(static_cast<std::size_t>(H * width));
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = 0.5f * std::sin(0.37f * i);
  DeviceBuffer d(table);
  Case c;
  c.spec.score_mod =
      "float bias = rel(h, kv_idx - q_idx + " + std::to_string(Sq - 1) + ");\nreturn score + bias;";
  c.spec.tensors = {{"rel", view(d.data, DType::f32, Device::cuda(0), {H, width})}};
  c.bias = [&](Index, Index h, Index q, Index kv) {
    return table[static_cast<std::size_t>(h * width + kv - q + Sq - 1)];
  };
  expect_matches_dense(c, shape(1, H, H, Sq, Sk, 128));
}

// Masks that read tensors keep their partial tiles' bits. Here every visited tile is partial,
// more of them than the block mask keeps bits for (8 per row of the mask): the first tiles load
// their bits, the rest call mask_mod; with D 256 (64-key tiles, one word per thread) and a
// mask that names the head.
TEST(Flex, PartialTilesBeyondTheKeptBits) {
  REQUIRE_FLEX();
  const Index Sk = 1300;
  std::vector<int> keep(Sk);
  for (Index kv = 0; kv < Sk; ++kv) keep[static_cast<std::size_t>(kv)] = kv % 3 != 1;
  DeviceBuffer keep_d(keep);
  Case strided{mask_spec("keep[kv_idx] != 0 && kv_idx <= q_idx + 200"),
               [](Index, Index, Index q, Index kv) { return kv % 3 != 1 && kv <= q + 200; }};
  strided.spec.tensors = {{"keep", view(keep_d.data, DType::i32, Device::cuda(0), {Sk})}};
  expect_matches_dense(strided, shape(1, 2, 2, 1100, Sk, 64), true);
  std::vector<int> shift = {0, 1, 2};
  DeviceBuffer shift_d(shift);
  Case per_head{mask_spec("(kv_idx + shift[h]) % 4 != 0 && q_idx >= kv_idx"),
                [](Index, Index h, Index q, Index kv) { return (kv + h) % 4 != 0 && q >= kv; }};
  per_head.spec.tensors = {{"shift", view(shift_d.data, DType::i32, Device::cuda(0), {3})}};
  expect_matches_dense(per_head, shape(1, 3, 1, 300, 700, 256));
}

TEST(Flex, FullyMaskedRowsAndEmptyProblems) {
  REQUIRE_FLEX();
  Case c{mask_spec("q_idx % 5 != 2 && kv_idx <= q_idx"),
         [](Index, Index, Index q, Index kv) { return q % 5 != 2 && kv <= q; }};
  expect_matches_dense(c, shape(1, 2, 2, 200, 200, 128), true);
  Case plain;
  plain.spec.score_mod = "score * 0.5f";
  plain.bias = nullptr;
  support::ProblemSpec none = shape(1, 2, 2, 64, 0, 128);  // no keys: zeros, LSE -inf
  expect_matches_dense(plain, none);
  expect_matches_dense(c, shape(1, 2, 2, 0, 64, 128));
}

TEST(Flex, BlockMaskSkipsEmptyTilesAndChecksItsProblem) {
  REQUIRE_FLEX();
  support::HostProblem host(shape(1, 2, 2, 1024, 1024, 128));
  support::DeviceProblem dev(host);
  FlexSpec spec = mask_spec("q_idx >= kv_idx");
  const auto mask = flex_block_mask(spec, dev.params());
  EXPECT_EQ(mask->batches(), 1);  // the mask names neither b nor h
  EXPECT_EQ(mask->heads(), 1);
  EXPECT_EQ(mask->query_tiles(), 8);
  EXPECT_EQ(mask->key_tiles(), 8);
  EXPECT_EQ(mask->visited_tiles(), 8 * 9 / 2);  // the lower triangle of 128x128 tiles

  support::HostProblem longer(shape(1, 2, 2, 1100, 1024, 128));
  support::DeviceProblem other(longer);
  Params p = other.params();
  spec.block_mask = mask;
  p.flex = &spec;
  try {
    attention(p, "flex");
    ADD_FAILURE() << "a block mask of another size was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::flex);
    EXPECT_NE(std::string(e.what()).find("does not fit"), std::string::npos) << e.what();
  }
}

TEST(Flex, SourceErrorsAreRefusalsWithTheLine) {
  REQUIRE_FLEX();
  support::HostProblem host(shape(1, 2, 2, 128, 128, 64));
  support::DeviceProblem dev(host);
  FlexSpec spec = mask_spec("q_idx >= kv_idx &&\nids[kv_idx] > 0");  // `ids` was never given
  Params p = dev.params();
  p.flex = &spec;
  const auto why = refusal(p, "flex");
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("mask_mod(2)"), std::string::npos) << *why;
  EXPECT_NE(why->find("ids"), std::string::npos) << *why;
  try {
    attention(p, "flex");
    ADD_FAILURE() << "a source that does not compile ran";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::flex) << e.what();
  }
  // No other backend takes a source spec, so auto picks flex (or says why nothing can).
  spec.mask_mod = "q_idx >= kv_idx";
  const Explanation ex = explain(p);
  for (const Verdict& v : ex.verdicts) {
    if (v.backend != "flex") EXPECT_FALSE(v.ok) << v.backend << " took a flex spec";
  }
}
#endif

}  // namespace
}  // namespace attend
