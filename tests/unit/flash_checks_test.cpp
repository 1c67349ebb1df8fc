// What `flash` and `flash_varlen` refuse, and say, before any kernel runs: these are decided by
// the dispatcher from capability data and the backends' own checks, so they hold on any machine
// (with or without a GPU: explain never touches the tensors, here device addresses that do not
// exist).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "attend/attend.hpp"
#include "backends/flash/launch.hpp"
#include "verdicts.hpp"

namespace attend {
namespace {

using namespace testing_verdicts;

TEST(FlashChecks, PaddedHeadDimIsANote) {
  // Just under the widest kernel of this build (builds may trim the instantiations).
  const std::int64_t D = flash::compiled_head_dims().back() - 8;
  ASSERT_NE(flash::kernel_head_dim(D), D);
  const Explanation ex = explain(dense(D));
  for (std::string_view id : {"flash", "flash_varlen"}) {
    const Verdict& v = verdict(ex, id);
    EXPECT_FALSE(refuses_with(v, Code::head_dim)) << format_verdicts({v});
    EXPECT_TRUE(has_note(v, "zero-padded")) << format_verdicts({v});
  }
}

TEST(FlashChecks, HeadDimsOutsideTheKernelsAreRefused) {
  for (std::int64_t D : {12, 264}) {
    const Explanation ex = explain(dense(D));
    const Verdict& v = verdict(ex, "flash");
    EXPECT_TRUE(refuses_with(v, Code::head_dim)) << "D " << D << "\n" << format_verdicts({v});
  }
}

TEST(FlashChecks, Fp32IsRefused) {
  const Explanation ex = explain(dense(64, DType::f32));
  const Verdict& v = verdict(ex, "flash");
  EXPECT_TRUE(refuses_with(v, Code::dtype)) << format_verdicts({v});
}

TEST(FlashChecks, TokenStridesBeyondTheKernelsOffsetsAreRefused) {
  Params p = dense(64);
  p.k.strides[1] = (std::int64_t{1} << 23) + 64;  // token stride of k
  p.k.strides[0] = p.k.strides[1] * 64;
  const Explanation ex = explain(p);
  const Verdict& v = verdict(ex, "flash");
  EXPECT_TRUE(refuses_with(v, Code::stride)) << format_verdicts({v});
}

TEST(FlashChecks, AttentionMasksAreRefused) {
  Params p = dense(64);
  p.attn_mask = view(fake_address(4), DType::boolean, Device::cuda(0), {64, 64});
  const Explanation ex = explain(p);
  for (std::string_view id : {"flash", "flash_varlen"}) {
    EXPECT_TRUE(refuses_with(verdict(ex, id), Code::mask)) << format_verdicts({verdict(ex, id)});
  }
}

TEST(FlashChecks, KeyPaddingOnlyOnVarlenAndNotWithPositions) {
  Params p = dense(64);
  p.key_padding_mask = view(fake_address(4), DType::boolean, Device::cuda(0), {2, 64});
  {
    const Explanation ex = explain(p);
    EXPECT_TRUE(refuses_with(verdict(ex, "flash"), Code::mask));
    const Verdict& v = verdict(ex, "flash_varlen");
    EXPECT_FALSE(refuses_with(v, Code::mask) || refuses_with(v, Code::mask_with_causal))
        << format_verdicts({v});
  }
  p.is_causal = true;  // compaction renumbers keys: causal positions would be wrong
  EXPECT_TRUE(refuses_with(verdict(explain(p), "flash_varlen"), Code::mask_with_causal));
  p.is_causal = false;
  p.dropout_p = 0.1;  // so would the dropout draw of each key
  EXPECT_TRUE(refuses_with(verdict(explain(p), "flash_varlen"), Code::dropout));
}

}  // namespace
}  // namespace attend
