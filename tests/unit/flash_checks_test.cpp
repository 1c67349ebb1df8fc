// What `flash` and `flash_varlen` refuse, and say, before any kernel runs: these are decided by
// the dispatcher from capability data and the backends' own checks, so they hold on any machine
// (with or without a GPU: explain never touches the tensors, here device addresses that do not
// exist).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "attend/attend.hpp"
#include "backends/flash/launch.hpp"

namespace attend {
namespace {

// Distinct, 16-byte aligned, never dereferenced.
void* fake_address(std::uintptr_t slot) {
  return reinterpret_cast<void*>((slot + 1) << 36);
}

Params dense(std::int64_t D, DType dtype = DType::bf16, std::int64_t S = 64) {
  const Device gpu = Device::cuda(0);
  Params p;
  p.q = view(fake_address(0), dtype, gpu, {2, S, 4, D});
  p.k = view(fake_address(1), dtype, gpu, {2, S, 4, D});
  p.v = view(fake_address(2), dtype, gpu, {2, S, 4, D});
  p.out = view(fake_address(3), dtype, gpu, {2, S, 4, D});
  return p;
}

const Verdict& verdict(const Explanation& ex, std::string_view id) {
  for (const Verdict& v : ex.verdicts) {
    if (v.backend == id) return v;
  }
  static const Verdict none;
  ADD_FAILURE() << id << " is not registered";
  return none;
}

bool refuses_with(const Verdict& v, Code code) {
  for (const Reason& r : v.reasons) {
    if (r.code == code) return true;
  }
  return false;
}

TEST(FlashChecks, PaddedHeadDimIsANote) {
  // Just under the widest kernel of this build (builds may trim the instantiations).
  const std::int64_t D = flash::compiled_head_dims().back() - 8;
  ASSERT_NE(flash::kernel_head_dim(D), D);
  const Explanation ex = explain(dense(D));
  for (std::string_view id : {"flash", "flash_varlen"}) {
    const Verdict& v = verdict(ex, id);
    EXPECT_FALSE(refuses_with(v, Code::head_dim)) << format_verdicts({v});
    bool noted = false;
    for (const std::string& n : v.notes) noted |= n.find("zero-padded") != std::string::npos;
    EXPECT_TRUE(noted) << format_verdicts({v});
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
