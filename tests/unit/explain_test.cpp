#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "attend/attend.hpp"
#include "probe_backend.hpp"
#include "problem_fixture.hpp"

namespace attend {
namespace {

using testing::ScopedProbe;

std::set<Code> codes(const Verdict& v) {
  std::set<Code> out;
  for (const Reason& r : v.reasons) out.insert(r.code);
  return out;
}

TEST(Explain, ChosenIsTheFirstPassingVerdictInRankOrder) {
  support::HostProblem p(testing::small_spec(DType::bf16));
  support::Output o = p.make_output();
  const Explanation ex = explain(p.params(o));
  EXPECT_EQ(ex.requested, "auto");
  EXPECT_EQ(ex.source, Source::process_default);
  ASSERT_EQ(ex.verdicts.size(), list_backends().size());
  const auto first_ok =
      std::find_if(ex.verdicts.begin(), ex.verdicts.end(), [](const Verdict& v) { return v.ok; });
  ASSERT_NE(first_ok, ex.verdicts.end());
  EXPECT_EQ(ex.chosen, first_ok->backend);
  for (const Verdict& v : ex.verdicts) EXPECT_EQ(v.ok, v.reasons.empty()) << v.backend;
}

// The promise of the design: explain's verdict and attention's behaviour come from one function.
TEST(Explain, AgreesWithAttentionForEveryBackend) {
  std::vector<support::ProblemSpec> specs;
  for (DType t : {DType::f32, DType::bf16, DType::f16, DType::f64}) {
    support::ProblemSpec s = testing::small_spec(t);
    specs.push_back(s);
    s.D = 600;
    specs.push_back(s);
    s.D = 16;
    s.mask = support::MaskKind::additive;
    s.lse = true;
    s.dropout_p = 0.2;
    specs.push_back(s);
  }
  for (const support::ProblemSpec& s : specs) {
    support::HostProblem p(s);
    for (const BackendInfo& b : list_backends()) {
      support::Output o = p.make_output();
      const Params params = p.params(o);
      const Explanation ex = explain(params, b.id);
      const auto v = std::find_if(ex.verdicts.begin(), ex.verdicts.end(),
                                  [&](const Verdict& x) { return x.backend == b.id; });
      ASSERT_NE(v, ex.verdicts.end());
      bool ran = true;
      try {
        attention(params, b.id);
      } catch (const NoBackendError& e) {
        ran = false;
        ASSERT_EQ(e.verdicts().size(), 1u);
        EXPECT_EQ(codes(e.verdicts()[0]), codes(*v)) << s.describe() << " on " << b.id;
      }
      EXPECT_EQ(ran, v->ok) << s.describe() << " on " << b.id;
      EXPECT_EQ(ex.chosen.empty(), !v->ok);
    }
  }
}

TEST(Explain, StrictChoiceListsEveryReasonNotOnlyTheFirst) {
  Capabilities caps = testing::ProbeBackend::cpu_fp32_caps();
  caps.head_dim_max = 8;
  ScopedProbe strict("probe_strict", 3, caps);
  support::ProblemSpec s = testing::small_spec(DType::bf16);  // D = 16
  s.lse = true;
  s.mask = support::MaskKind::boolean;
  support::HostProblem p(s);
  support::Output o = p.make_output();
  try {
    attention(p.params(o), "probe_strict");
    FAIL() << "expected NoBackendError";
  } catch (const NoBackendError& e) {
    EXPECT_EQ(e.requested(), "probe_strict");
    ASSERT_EQ(e.verdicts().size(), 1u);
    EXPECT_EQ(codes(e.verdicts()[0]),
              (std::set<Code>{Code::dtype, Code::head_dim, Code::lse, Code::mask}));
    const std::string msg = e.what();
    EXPECT_NE(msg.find("backend"), std::string::npos);
    EXPECT_NE(msg.find("expected"), std::string::npos);
    EXPECT_NE(msg.find("probe_strict | dtype"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[head_dim]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("bf16"), std::string::npos) << msg;
    EXPECT_NE(msg.find("backends that can run it: "), std::string::npos) << msg;
    EXPECT_NE(msg.find("math"), std::string::npos) << msg;
  }
  EXPECT_EQ(strict.calls(), 0);
}

TEST(Explain, AutoWithNoCandidateExplainsEveryBackend) {
  // Device tensors on a machine whose backends are all CPU (or have no device): nothing can run.
  // The pointers are never dereferenced: the problem is refused before any kernel.
  alignas(64) static float fake[64];
  Params p;
  p.q = view(fake, f32, Device::cuda(0), {1, 2, 1, 8});
  p.k = p.v = p.q;
  p.out = view(fake + 16, f32, Device::cuda(0), {1, 2, 1, 8});
  const auto all = list_backends();
  const bool any_cuda = std::any_of(all.begin(), all.end(), [](const BackendInfo& b) {
    return b.capabilities.device == DeviceKind::cuda && b.availability.score > 0;
  });
  if (any_cuda) GTEST_SKIP() << "a CUDA backend is available here";
  try {
    attention(p);
    FAIL() << "expected NoBackendError";
  } catch (const NoBackendError& e) {
    EXPECT_EQ(e.requested(), "auto");
    EXPECT_EQ(e.verdicts().size(), all.size());
    for (const Verdict& v : e.verdicts()) {
      EXPECT_FALSE(v.ok);
      EXPECT_FALSE(v.reasons.empty()) << v.backend;
    }
  }
}

}  // namespace
}  // namespace attend

namespace attend {
namespace {

TEST(FormatVerdicts, RendersPassingAndRefusingBackends) {
  Verdict ok{"fast_one", true, 50, {}, {"pads head dim 80 to 96"}};
  Verdict no{"picky",
             false,
             10,
             {{Code::dtype, "dtype", "fp16, bf16", "fp32"},
              {Code::lse, "lse output", "none", "requested"}},
             {}};
  const std::string t = format_verdicts({ok, no});
  EXPECT_NE(t.find("fast_one | (can run)"), std::string::npos) << t;
  EXPECT_NE(t.find("note: fast_one: pads head dim 80 to 96"), std::string::npos) << t;
  EXPECT_NE(t.find("picky    | dtype      | fp16, bf16 | fp32"), std::string::npos) << t;
  EXPECT_NE(t.find("picky    | lse output | none       | requested [lse]"), std::string::npos) << t;
  EXPECT_EQ(format_verdicts({ok}).find("(can run)") != std::string::npos, true);
}

}  // namespace
}  // namespace attend
