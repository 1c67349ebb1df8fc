// What `sage`, `sage_varlen` and `sage_fp8` refuse and say before any kernel runs, and the rule
// that `auto` never picks a quantized backend. These hold on any machine: explain never touches the
// tensors (device addresses here that do not exist), and the probe runs on the CPU.
#include <gtest/gtest.h>

#include <string>

#include "attend/attend.hpp"
#include "backends/sage/launch.hpp"
#include "probe_backend.hpp"
#include "verdicts.hpp"

namespace attend {
namespace {

using namespace testing_verdicts;

TEST(SageChecks, HeadDimsPadToTheInt8Kernels) {
  EXPECT_EQ(sage::kernel_head_dim(8), 64);
  EXPECT_EQ(sage::kernel_head_dim(64), 64);
  EXPECT_EQ(sage::kernel_head_dim(72), 128);
  EXPECT_EQ(sage::kernel_head_dim(128), 128);
  EXPECT_EQ(sage::kernel_head_dim(136), 0);
  const Explanation ex = explain(dense(96));
  const Verdict& v = verdict(ex, "sage");
  EXPECT_FALSE(refuses_with(v, Code::head_dim)) << format_verdicts({v});
  EXPECT_TRUE(has_note(v, "128-wide kernel")) << format_verdicts({v});
  EXPECT_TRUE(refuses_with(verdict(explain(dense(192)), "sage"), Code::head_dim));
}

TEST(SageChecks, WhatTheQuantizedKernelCannotDo) {
  EXPECT_TRUE(refuses_with(verdict(explain(dense(64, DType::f32)), "sage"), Code::dtype));
  Params capped = dense(64);
  capped.softcap = 30.0;
  EXPECT_TRUE(refuses_with(verdict(explain(capped), "sage"), Code::softcap));
  Params dropped = dense(64);
  dropped.dropout_p = 0.1;
  EXPECT_TRUE(refuses_with(verdict(explain(dropped), "sage"), Code::dropout));
  Params masked = dense(64);
  masked.attn_mask = view(fake_address(4), DType::boolean, Device::cuda(0), {64, 64});
  EXPECT_TRUE(refuses_with(verdict(explain(masked), "sage"), Code::mask));
}

TEST(SageChecks, KeyPaddingOnlyOnVarlenAndNotWithPositions) {
  Params p = dense(128);
  p.key_padding_mask = view(fake_address(4), DType::boolean, Device::cuda(0), {2, 64});
  {
    const Explanation ex = explain(p);
    EXPECT_TRUE(refuses_with(verdict(ex, "sage"), Code::mask));
    const Verdict& v = verdict(ex, "sage_varlen");
    EXPECT_FALSE(refuses_with(v, Code::mask) || refuses_with(v, Code::mask_with_causal))
        << format_verdicts({v});
  }
  p.is_causal = true;
  EXPECT_TRUE(refuses_with(verdict(explain(p), "sage_varlen"), Code::mask_with_causal));
}

TEST(SageChecks, VerdictsSayTheBackendIsQuantized) {
  const Explanation ex = explain(dense(128));
  for (std::string_view id : {"sage", "sage_varlen", "sage_fp8"}) {
    EXPECT_TRUE(has_note(verdict(ex, id), "auto never picks it")) << id;
  }
  EXPECT_FALSE(has_note(verdict(ex, "flash"), "auto never picks it"));
  for (const BackendInfo& b : list_backends()) {
    EXPECT_EQ(b.capabilities.quantized,
              b.id == "sage" || b.id == "sage_varlen" || b.id == "sage_fp8")
        << b.id;
  }
}

TEST(SageChecks, Fp8RunsDenseProblemsUpToHeadDim128OnSm90) {
  const Explanation ex = explain(dense(64));
  const Verdict& v = verdict(ex, "sage_fp8");
  EXPECT_TRUE(has_note(v, "128-wide kernel")) << format_verdicts({v});
  EXPECT_TRUE(refuses_with(verdict(explain(dense(192)), "sage_fp8"), Code::head_dim));
  Params capped = dense(128);
  capped.softcap = 30.0;
  EXPECT_TRUE(refuses_with(verdict(explain(capped), "sage_fp8"), Code::softcap));
  Params padded = dense(128);
  padded.key_padding_mask = view(fake_address(4), DType::boolean, Device::cuda(0), {2, 64});
  EXPECT_TRUE(refuses_with(verdict(explain(padded), "sage_fp8"), Code::mask));
  for (const BackendInfo& b : list_backends()) {
    if (b.id != "sage_fp8") continue;
    EXPECT_EQ(b.capabilities.min_sm, 90);
    EXPECT_EQ(b.capabilities.max_sm, 90);
  }
}

// A quantized CPU probe that outranks every backend: auto passes it over (in the call and in
// explain), a call that names it runs it.
TEST(SageChecks, AutoNeverPicksAQuantizedBackend) {
  Capabilities caps = testing::ProbeBackend::cpu_fp32_caps();
  caps.quantized = true;
  testing::ScopedProbe probe("probe_quantized", 100000, caps);
  std::vector<float> q(2 * 8 * 2 * 16, 0.5f), k(q), v(q), out(q.size());
  const Device cpu = Device::host();
  Params p;
  p.q = view(q.data(), DType::f32, cpu, {2, 8, 2, 16});
  p.k = view(k.data(), DType::f32, cpu, {2, 8, 2, 16});
  p.v = view(v.data(), DType::f32, cpu, {2, 8, 2, 16});
  p.out = view(out.data(), DType::f32, cpu, {2, 8, 2, 16});

  const Explanation ex = explain(p);
  EXPECT_TRUE(verdict(ex, "probe_quantized").ok);
  EXPECT_NE(ex.chosen, "probe_quantized");
  EXPECT_FALSE(ex.chosen.empty());
  attention(p);
  EXPECT_EQ(probe.calls(), 0);
  EXPECT_EQ(explain(p, "probe_quantized").chosen, "probe_quantized");
  attention(p, "probe_quantized");
  EXPECT_EQ(probe.calls(), 1);
}

}  // namespace
}  // namespace attend
