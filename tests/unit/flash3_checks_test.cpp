// What `flash3` and `flash3_varlen` refuse, and say, before any kernel runs: decided from
// capability data and the backends' own checks, so they hold on any machine (explain never
// touches the tensors, here device addresses that do not exist).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "attend/attend.hpp"
#include "verdicts.hpp"

namespace attend {
namespace {

using namespace testing_verdicts;

TEST(Flash3Checks, PaddedHeadDimsAreANoteAndWideOnesRefused) {
  for (std::int64_t D : {8, 96, 200}) {
    const Explanation ex = explain(dense(D));
    const Verdict& v = verdict(ex, "flash3");
    EXPECT_FALSE(refuses_with(v, Code::head_dim)) << format_verdicts({v});
    EXPECT_TRUE(has_note(v, "zero-padded")) << "D " << D << "\n" << format_verdicts({v});
  }
  for (std::int64_t D : {12, 264}) {
    const Explanation ex = explain(dense(D));
    const Verdict& v = verdict(ex, "flash3");
    EXPECT_TRUE(refuses_with(v, Code::head_dim)) << "D " << D << "\n" << format_verdicts({v});
  }
  EXPECT_FALSE(has_note(verdict(explain(dense(128)), "flash3"), "zero-padded"));
}

TEST(Flash3Checks, Fp32AndDropoutAreRefused) {
  EXPECT_TRUE(refuses_with(verdict(explain(dense(64, DType::f32)), "flash3"), Code::dtype));
  Params p = dense(64);
  p.dropout_p = 0.1;
  const Explanation ex = explain(p);
  const Verdict& v = verdict(ex, "flash3");
  EXPECT_TRUE(refuses_with(v, Code::dropout)) << format_verdicts({v});
}

TEST(Flash3Checks, BroadcastKeysAreRefusedWithTheStrides) {
  // K and V expanded over the batch (stride 0): a TMA tensor map cannot step by 0.
  Params p = dense(64);
  p.k.strides[0] = 0;
  p.v.strides[0] = 0;
  const Explanation ex = explain(p);
  const Verdict& v = verdict(ex, "flash3");
  EXPECT_TRUE(refuses_with(v, Code::stride)) << format_verdicts({v});
  bool named = false;
  for (const Reason& r : v.reasons) named |= r.what.find("k strides") != std::string::npos;
  EXPECT_TRUE(named) << format_verdicts({v});
}

TEST(Flash3Checks, NeedsHopperExactly) {
  int found = 0;
  for (const BackendInfo& b : list_backends()) {
    if (b.id != "flash3" && b.id != "flash3_varlen") continue;
    ++found;
    EXPECT_EQ(b.capabilities.min_sm, 90) << b.id;
    EXPECT_EQ(b.capabilities.max_sm, 90) << b.id;
    EXPECT_FALSE(b.capabilities.dropout) << b.id;
  }
  EXPECT_EQ(found, 2);
}

TEST(Flash3Checks, KeyPaddingOnlyOnVarlenAndNotWithPositions) {
  Params p = dense(64);
  p.key_padding_mask = view(fake_address(4), DType::boolean, Device::cuda(0), {2, 64});
  {
    const Explanation ex = explain(p);
    EXPECT_TRUE(refuses_with(verdict(ex, "flash3"), Code::mask));
    const Verdict& v = verdict(ex, "flash3_varlen");
    EXPECT_FALSE(refuses_with(v, Code::mask) || refuses_with(v, Code::mask_with_causal))
        << format_verdicts({v});
  }
  p.is_causal = true;
  EXPECT_TRUE(refuses_with(verdict(explain(p), "flash3_varlen"), Code::mask_with_causal));
}

TEST(Flash3Checks, AnswersToItsDiffusersNames) {
  EXPECT_TRUE(
      refuses_with(verdict(explain(dense(64, DType::f32), "_flash_3"), "flash3"), Code::dtype));
  EXPECT_TRUE(refuses_with(
      verdict(explain(dense(64, DType::f32), "_flash_varlen_3"), "flash3_varlen"), Code::dtype));
}

}  // namespace
}  // namespace attend
