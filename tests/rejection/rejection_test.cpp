// Bad input -> attend::Error with an exact code; backend refusals -> exact reason codes. Each
// case starts from a valid problem and breaks one thing.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <set>

#include "attend/attend.hpp"
#include "common/elements.hpp"
#include "support/host_problem.hpp"

namespace attend {
namespace {

struct BadInput {
  const char* name;
  Code code;
  std::function<void(Params&)> breakit;
};

support::ProblemSpec valid_spec() {
  support::ProblemSpec s;
  s.B = 2, s.Hq = 4, s.Hkv = 2, s.Sq = 6, s.Sk = 5, s.D = 8;
  s.mask = support::MaskKind::boolean;
  s.lse = true;
  return s;
}

alignas(64) float scratch[1024];

const std::vector<BadInput>& bad_inputs() {
  static const std::vector<BadInput> cases = {
      {"q absent", Code::rank, [](Params& p) { p.q = {}; }},
      {"q rank 3 in BSHD", Code::rank, [](Params& p) { p.q.rank = 3; }},
      {"k head dim differs", Code::shape, [](Params& p) { p.k.shape[3] = 7; }},
      {"v length differs from k", Code::shape, [](Params& p) { p.v.shape[1] = 4; }},
      {"batch differs", Code::shape, [](Params& p) { p.k.shape[0] = 1; }},
      {"out heads differ", Code::shape, [](Params& p) { p.out.shape[2] = 2; }},
      {"out rows differ", Code::shape, [](Params& p) { p.out.shape[1] = 5; }},
      {"negative size", Code::shape, [](Params& p) { p.q.shape[1] = -6; }},
      {"head dim 0", Code::head_dim, [](Params& p) { p.q.shape[3] = p.k.shape[3] = 0; }},
      {"k/v dtype differ", Code::dtype_mismatch, [](Params& p) { p.k.dtype = DType::f16; }},
      {"out dtype differs", Code::dtype_mismatch, [](Params& p) { p.out.dtype = DType::bf16; }},
      {"integer q", Code::dtype,
       [](Params& p) { p.q.dtype = p.k.dtype = p.v.dtype = p.out.dtype = DType::i32; }},
      {"gqa not enabled", Code::gqa, [](Params& p) { p.enable_gqa = false; }},
      {"gqa not divisible", Code::gqa,
       [](Params& p) {
         p.q.shape[2] = p.out.shape[2] = 3;
         p.attn_mask = {};
         p.lse = {};
       }},
      {"negative stride", Code::stride, [](Params& p) { p.q.strides[1] = -p.q.strides[1]; }},
      {"overlapping out", Code::stride, [](Params& p) { p.out.strides[1] = 0; }},
      {"aliasing out strides", Code::stride,
       [](Params& p) { p.out.strides[1] = p.out.strides[2]; }},
      {"aliasing lse strides", Code::stride,
       [](Params& p) { p.lse.strides[2] = 1, p.lse.strides[1] = 2; }},
      {"offset overflow", Code::overflow,
       [](Params& p) { p.k.strides[0] = std::numeric_limits<std::int64_t>::max() / 2; }},
      {"size overflow", Code::overflow,
       [](Params& p) {
         p.q.shape[0] = p.k.shape[0] = p.v.shape[0] = p.out.shape[0] = std::int64_t{1} << 62;
       }},
      {"null q", Code::null_pointer, [](Params& p) { p.q.data = nullptr; }},
      {"misaligned q", Code::alignment,
       [](Params& p) { p.q.data = reinterpret_cast<char*>(scratch) + 1; }},
      {"device mismatch", Code::device_mismatch, [](Params& p) { p.k.device = Device::cuda(0); }},
      {"mask wrong shape", Code::mask_shape, [](Params& p) { p.attn_mask.shape[3] = 4; }},
      {"mask rank 1", Code::mask_shape, [](Params& p) { p.attn_mask.rank = 1; }},
      {"integer mask", Code::mask, [](Params& p) { p.attn_mask.dtype = DType::i32; }},
      {"key padding wrong shape", Code::mask_shape,
       [](Params& p) {
         p.key_padding_mask = view(scratch, boolean, cpu, {2, 4});
       }},
      {"key padding not bool", Code::mask,
       [](Params& p) {
         p.key_padding_mask = view(scratch, f32, cpu, {2, 5});
       }},
      {"lse wrong dtype", Code::lse, [](Params& p) { p.lse.dtype = DType::f16; }},
      {"lse wrong shape", Code::lse, [](Params& p) { p.lse.shape[2] = 5; }},
      {"dropout 1", Code::dropout, [](Params& p) { p.dropout_p = 1.0; }},
      {"dropout negative", Code::dropout, [](Params& p) { p.dropout_p = -0.1; }},
      {"dropout NaN", Code::dropout, [](Params& p) { p.dropout_p = std::nan(""); }},
      {"softcap negative", Code::softcap, [](Params& p) { p.softcap = -1.0; }},
      {"softcap inf", Code::softcap,
       [](Params& p) { p.softcap = std::numeric_limits<double>::infinity(); }},
      {"scale NaN", Code::scale, [](Params& p) { p.scale = std::nan(""); }},
      {"window -2", Code::window,
       [](Params& p) {
         p.window = {-2, 0};
       }},
      {"cu_seqlens with BSHD", Code::varlen,
       [](Params& p) { p.cu_seqlens_q = p.cu_seqlens_k = view(scratch, i32, cpu, {3}); }},
      {"BSHD tensors under THD", Code::rank, [](Params& p) { p.layout = Layout::THD; }},
      {"unknown layout", Code::layout, [](Params& p) { p.layout = static_cast<Layout>(9); }},
      {"unknown alignment", Code::causal_align, [](Params& p) { p.align = static_cast<Align>(2); }},
      {"mask rank 100", Code::rank, [](Params& p) { p.attn_mask.rank = 100; }},
      {"q rank negative", Code::rank, [](Params& p) { p.q.rank = -1; }},
      {"unknown mask dtype", Code::dtype,
       [](Params& p) { p.attn_mask.dtype = static_cast<DType>(9); }},
      {"out aliases v", Code::stride, [](Params& p) { p.out.data = p.v.data; }},
      {"lse inside out", Code::stride, [](Params& p) { p.lse.data = p.out.data; }},
      {"key padding fp32 and misaligned", Code::mask,
       [](Params& p) {
         p.key_padding_mask = view(reinterpret_cast<char*>(scratch) + 1, f32, cpu, {2, 5});
       }},
  };
  return cases;
}

void PrintTo(const BadInput& b, std::ostream* os) {
  *os << b.name;
}

class Rejection : public ::testing::TestWithParam<BadInput> {};

TEST_P(Rejection, ThrowsTheExactCode) {
  support::HostProblem problem(valid_spec());
  support::Output o = problem.make_output();
  Params p = problem.params(o);
  ASSERT_NO_THROW(explain(p)) << "the unbroken problem must be valid";
  GetParam().breakit(p);
  for (const char* backend : {"auto", "math", "cpu_flash"}) {
    try {
      attention(p, backend);
      FAIL() << GetParam().name << ": expected attend::Error on " << backend;
    } catch (const NoBackendError& e) {
      FAIL() << GetParam().name << ": input errors come before backend choice, got\n" << e.what();
    } catch (const Error& e) {
      EXPECT_EQ(code_name(e.code()), code_name(GetParam().code))
          << GetParam().name << ": " << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("attend: ", 0), 0u) << e.what();
    }
  }
  EXPECT_THROW(explain(p), Error) << "explain refuses the same input";
}

INSTANTIATE_TEST_SUITE_P(BadInputs, Rejection, ::testing::ValuesIn(bad_inputs()),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (char& c : n)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

// Varlen-specific input errors, on a packed problem.
TEST(RejectionVarlen, CuSeqlensMustBeValid) {
  support::ProblemSpec s;
  s.Hq = s.Hkv = 2, s.D = 8;
  s.seqlens_q = {3, 4};
  s.seqlens_k = {2, 5};
  support::HostProblem problem(s);
  auto expect_code = [&](const std::function<void(Params&, std::vector<std::int32_t>&)>& breakit,
                         Code code) {
    support::Output o = problem.make_output();
    Params p = problem.params(o);
    std::vector<std::int32_t> cu(static_cast<const std::int32_t*>(p.cu_seqlens_q.data),
                                 static_cast<const std::int32_t*>(p.cu_seqlens_q.data) + 3);
    breakit(p, cu);
    p.cu_seqlens_q.data = cu.data();
    try {
      attention(p, "math");
      ADD_FAILURE() << "expected " << code_name(code);
    } catch (const Error& e) {
      EXPECT_EQ(code_name(e.code()), code_name(code)) << e.what();
    }
  };
  expect_code(
      [](Params&, std::vector<std::int32_t>& cu) {
        cu = {0, 5, 3};
      },
      Code::varlen);  // decreasing
  expect_code(
      [](Params&, std::vector<std::int32_t>& cu) {
        cu = {1, 3, 7};
      },
      Code::varlen);  // not from 0
  expect_code(
      [](Params&, std::vector<std::int32_t>& cu) {
        cu = {0, 3, 9};
      },
      Code::varlen);  // beyond tensor
  expect_code([](Params& p, std::vector<std::int32_t>&) { p.max_seqlen_q = 2; },
              Code::varlen);  // hint too small
  expect_code([](Params& p, std::vector<std::int32_t>&) { p.cu_seqlens_k.dtype = DType::i64; },
              Code::varlen);
  expect_code([](Params& p, std::vector<std::int32_t>&) { p.cu_seqlens_k.shape[0] = 2; },
              Code::varlen);
  expect_code([](Params& p, std::vector<std::int32_t>&) { p.cu_seqlens_k = {}; }, Code::varlen);
  // Device cu_seqlens are never read on the host: the length hints become mandatory.
  expect_code(
      [](Params& p, std::vector<std::int32_t>&) {
        for (TensorView* t : {&p.q, &p.k, &p.v, &p.out, &p.cu_seqlens_q, &p.cu_seqlens_k})
          t->device = Device::cuda(0);
        p.max_seqlen_q = 0;
      },
      Code::varlen);
  expect_code(
      [](Params& p, std::vector<std::int32_t>&) {
        p.attn_mask = view(scratch, boolean, cpu, {7, 7});
      },
      Code::mask_shape);
}

// Backend refusals: valid input that a backend cannot run. Every reason is reported.
TEST(BackendRefusal, CpuFlashRefusesWhatItCannotRunWithEveryReason) {
  support::ProblemSpec s = valid_spec();
  s.dtype = DType::f64;
  s.D = 600;
  support::HostProblem problem(s);
  support::Output o = problem.make_output();
  const Params p = problem.params(o);
  try {
    attention(p, "cpu_flash");
    FAIL() << "expected NoBackendError";
  } catch (const NoBackendError& e) {
    std::set<Code> codes;
    for (const Reason& r : e.verdicts().at(0).reasons) codes.insert(r.code);
    EXPECT_TRUE(codes.count(Code::dtype)) << e.what();
    EXPECT_TRUE(codes.count(Code::head_dim)) << e.what();
    EXPECT_EQ(e.code(), e.verdicts().at(0).reasons.at(0).code) << "the first reason's code";
  }
  EXPECT_NO_THROW(attention(p, "math")) << "the reference takes it";
  EXPECT_NO_THROW(attention(p)) << "auto falls back to a backend that can";
}

TEST(BackendRefusal, CpuBackendsRefuseDeviceTensors) {
  alignas(64) static float fake[64];
  Params p;
  p.q = view(fake, f32, Device::cuda(0), {1, 2, 1, 8});
  p.k = p.v = p.q;
  p.out = view(fake + 16, f32, Device::cuda(0), {1, 2, 1, 8});
  for (const char* id : {"math", "cpu_flash"}) {
    try {
      attention(p, id);
      FAIL() << "expected NoBackendError";
    } catch (const NoBackendError& e) {
      bool device = false;
      for (const Reason& r : e.verdicts().at(0).reasons) device |= r.code == Code::device;
      EXPECT_TRUE(device) << e.what();
    }
  }
}

}  // namespace
}  // namespace attend

namespace attend {
namespace {

// Refusals that depend on a backend's declared limits, shown with a probe that declares them.
class ProbeRefusal : public ::testing::Test {
 protected:
  static std::shared_ptr<const Backend> probe(Capabilities caps) {
    class Probe final : public Backend {
     public:
      explicit Probe(Capabilities c) : caps_(std::move(c)) {}
      std::string_view id() const noexcept override { return "strict_probe"; }
      std::string_view family() const noexcept override { return "test"; }
      std::string_view description() const noexcept override { return "declares tight limits"; }
      const Capabilities& capabilities() const noexcept override { return caps_; }
      Availability availability() const override { return {3, "test"}; }
      void run(const Problem&) const override {}

     private:
      Capabilities caps_;
    };
    return std::make_shared<Probe>(std::move(caps));
  }
  static Capabilities base_caps() {
    Capabilities c;
    c.dtypes = {DType::f32};
    c.layouts = {Layout::BSHD, Layout::BHSD};
    c.bool_mask = c.causal_top_left = c.causal_bottom_right = true;
    return c;
  }
  static std::set<Code> refusal_codes(const Params& p) {
    try {
      attention(p, "strict_probe");
    } catch (const NoBackendError& e) {
      std::set<Code> codes;
      for (const Reason& r : e.verdicts().at(0).reasons) codes.insert(r.code);
      return codes;
    }
    return {};
  }
  void TearDown() override { unregister_backend("strict_probe"); }
};

TEST_F(ProbeRefusal, MaskWithCausalWhereForbidden) {
  register_backend(probe(base_caps()));
  support::ProblemSpec s = valid_spec();
  s.Hq = s.Hkv = 2;
  s.lse = false;
  s.causal = true;
  support::HostProblem problem(s);
  support::Output o = problem.make_output();
  EXPECT_EQ(refusal_codes(problem.params(o)), std::set<Code>{Code::mask_with_causal});
}

TEST_F(ProbeRefusal, MisalignedForAVectorisedKernel) {
  Capabilities c = base_caps();
  c.alignment_bytes = 64;
  register_backend(probe(c));
  support::ProblemSpec s = valid_spec();
  s.Hq = s.Hkv = 2;
  s.lse = false;
  s.mask = support::MaskKind::none;
  s.strided = true;  // rows padded by 3 elements: element-aligned, never 64-byte aligned
  support::HostProblem problem(s);
  support::Output o = problem.make_output();
  EXPECT_EQ(refusal_codes(problem.params(o)), std::set<Code>{Code::alignment});
}

TEST_F(ProbeRefusal, StridesTheBackendCannotTake) {
  Capabilities c = base_caps();
  c.any_strides = false;
  register_backend(probe(c));
  support::ProblemSpec s = valid_spec();
  s.Hq = s.Hkv = 2;
  s.lse = false;
  s.mask = support::MaskKind::none;
  s.Dv = 4;
  support::HostProblem problem(s);
  support::Output o = problem.make_output();
  Params p = problem.params(o);
  p.q.shape[3] = p.k.shape[3] = 4;  // every other element of the head dim: stride 2
  p.q.strides[3] = p.k.strides[3] = 2;
  EXPECT_EQ(refusal_codes(p), std::set<Code>{Code::stride});
}

TEST(BackendRefusal, HeadDim1000RunsOnlyOnTheReference) {
  support::ProblemSpec s;
  s.Sq = 3, s.Sk = 4, s.D = 1000;
  support::HostProblem problem(s);
  support::Output o = problem.make_output();
  const Explanation ex = explain(problem.params(o));
  for (const Verdict& v : ex.verdicts) {
    if (v.backend == "cpu_flash") {
      ASSERT_FALSE(v.ok);
      EXPECT_EQ(v.reasons.at(0).code, Code::head_dim);
      EXPECT_EQ(v.reasons.at(0).got, "1000");
    }
  }
  EXPECT_EQ(ex.chosen, "math");
}

// NaN in the inputs reaches exactly the rows the reference says it reaches: a query row with a
// NaN, and the rows that give a NaN value row a non-zero weight (not those causal masking hides).
TEST(NanPropagation, MatchesTheReferenceRowByRow) {
  for (const BackendInfo& b : list_backends()) {
    if (b.id == "math" || b.capabilities.device != DeviceKind::cpu || b.availability.score <= 0)
      continue;
    for (DType t : {DType::f32, DType::bf16}) {
      support::ProblemSpec s;
      s.dtype = t;
      s.B = 1, s.Hq = s.Hkv = 2, s.Sq = s.Sk = 70, s.D = 32;
      s.causal = true;
      s.lse = true;
      support::HostProblem problem(s);
      support::Output got = problem.make_output(), ref = problem.make_output();
      Params p = problem.params(got);
      const double nan = std::numeric_limits<double>::quiet_NaN();
      common::store_element(p.q.data, t, 5 * p.q.strides[1] + 1 * p.q.strides[2] + 7,
                            nan);  // q row 5, head 1
      common::store_element(p.v.data, t, 40 * p.v.strides[1] + 0 * p.v.strides[2] + 3,
                            nan);  // v row 40, head 0
      attention(p, b.id);
      Params r = problem.params(ref);
      attention(r, "math");
      const support::Comparison c = support::compare(problem, got, ref);
      EXPECT_EQ(c.nan, 0) << b.id << " " << name(t) << ": NaN pattern differs from the reference";
      EXPECT_EQ(c.lse_mismatch, 0) << b.id << " " << name(t);
    }
  }
}

}  // namespace
}  // namespace attend
