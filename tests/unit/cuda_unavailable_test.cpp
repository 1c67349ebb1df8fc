// Without a CUDA device (or without CUDA in the build) the GPU backends stay registered and say
// why they cannot run, so `explain` reads the same on every machine.
#include <gtest/gtest.h>

#include <string>

#include "attend/attend.hpp"
#include "problem_fixture.hpp"
#include "support/device_problem.hpp"

namespace attend {
namespace {

TEST(CudaUnavailable, ExplainRefusesGpuBackendsWithNoCudaDevice) {
  if (support::cuda_device_present()) GTEST_SKIP() << "a CUDA device is present";
  support::HostProblem host(testing::small_spec(DType::bf16));
  support::Output o = host.make_output();
  Params p = host.params(o);  // host memory labelled cuda: nothing reads it when refused
  for (TensorView* t : {&p.q, &p.k, &p.v, &p.out}) t->device = Device::cuda(0);

  const Explanation ex = explain(p);
  EXPECT_TRUE(ex.chosen.empty()) << ex.chosen;
  for (const std::string id : {"flash", "cuda_math"}) {
    bool found = false;
    for (const Verdict& v : ex.verdicts) {
      if (v.backend != id) continue;
      found = true;
      EXPECT_FALSE(v.ok) << id;
      bool says_why = false;
      for (const Reason& r : v.reasons) {
        says_why |=
            r.code == Code::unavailable && r.got.find("no CUDA device") != std::string::npos;
      }
      EXPECT_TRUE(says_why) << id << ": " << format_verdicts({v});
    }
    EXPECT_TRUE(found) << id << " is not registered";
  }
  EXPECT_THROW(attention(p, "cuda_math"), NoBackendError);
}

TEST(CudaUnavailable, DeviceProblemSaysUnavailable) {
  if (support::cuda_device_present()) GTEST_SKIP() << "a CUDA device is present";
  support::HostProblem host(testing::small_spec(DType::f32));
  try {
    support::DeviceProblem dev(host);
    FAIL() << "a DeviceProblem was made without a device";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::unavailable) << e.what();
  }
}

}  // namespace
}  // namespace attend
