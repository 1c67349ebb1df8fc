// What `cudnn` declares and refuses before cuDNN is asked: its registration, its capability
// data, and the checks attend makes itself. These hold on any machine (explain never touches
// the tensors); where cuDNN or a GPU is missing, the verdict says so instead of building a plan.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "attend/attend.hpp"
#include "verdicts.hpp"

namespace attend {
namespace {

using namespace testing_verdicts;

const BackendInfo* cudnn_info() {
  static const std::vector<BackendInfo> all = list_backends();
  for (const BackendInfo& b : all) {
    if (b.id == "cudnn") return &b;
  }
  return nullptr;
}

TEST(CudnnChecks, RegisteredWithItsCapabilities) {
  const BackendInfo* b = cudnn_info();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->capabilities.device, DeviceKind::cuda);
  EXPECT_EQ(b->capabilities.min_sm, 80);
  EXPECT_TRUE(b->capabilities.additive_mask && b->capabilities.bool_mask);
  EXPECT_TRUE(b->capabilities.key_padding_mask && b->capabilities.dropout && b->capabilities.lse);
  EXPECT_FALSE(b->capabilities.softcap);
  bool alias = false;
  for (const std::string& a : b->aliases) alias |= a == "_native_cudnn";
  EXPECT_TRUE(alias);
  if (b->availability.score == 0) EXPECT_FALSE(b->availability.reason.empty());
}

TEST(CudnnChecks, DiffusersNameResolvesToIt) {
  const Explanation ex = explain(dense(64), "_native_cudnn");
  bool seen = false;
  for (const Verdict& v : ex.verdicts) seen |= v.backend == "cudnn";
  EXPECT_TRUE(seen);
}

TEST(CudnnChecks, SoftcapFp32AndDifferentVHeadDimAreRefused) {
  Params p = dense(64);
  p.softcap = 30.0;
  EXPECT_TRUE(refuses_with(verdict(explain(p), "cudnn"), Code::softcap));
  EXPECT_TRUE(refuses_with(verdict(explain(dense(64, DType::f32)), "cudnn"), Code::dtype));
  Params dv = dense(64);
  dv.v = view(fake_address(2), DType::bf16, Device::cuda(0), {2, 64, 4, 128});
  dv.out = view(fake_address(3), DType::bf16, Device::cuda(0), {2, 64, 4, 128});
  const Explanation ex = explain(dv);
  const Verdict& v = verdict(ex, "cudnn");
  EXPECT_TRUE(refuses_with(v, Code::head_dim_v)) << format_verdicts({v});
}

TEST(CudnnChecks, PackedSequencesWithLseAreRefused) {
  const Device gpu = Device::cuda(0);
  Params p;
  p.layout = Layout::THD;
  p.q = view(fake_address(0), DType::bf16, gpu, {100, 4, 64});
  p.k = view(fake_address(1), DType::bf16, gpu, {120, 4, 64});
  p.v = view(fake_address(2), DType::bf16, gpu, {120, 4, 64});
  p.out = view(fake_address(3), DType::bf16, gpu, {100, 4, 64});
  p.cu_seqlens_q = view(fake_address(4), DType::i32, gpu, {3});
  p.cu_seqlens_k = view(fake_address(5), DType::i32, gpu, {3});
  p.max_seqlen_q = 60, p.max_seqlen_k = 70;
  p.lse = view(fake_address(6), DType::f32, gpu, {4, 100});
  const Explanation ex = explain(p);
  const Verdict& v = verdict(ex, "cudnn");
  EXPECT_TRUE(refuses_with(v, Code::lse)) << format_verdicts({v});
}

}  // namespace
}  // namespace attend
