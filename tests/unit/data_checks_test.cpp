#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attend/attend.hpp"
#include "common/elements.hpp"
#include "problem_fixture.hpp"

namespace attend {
namespace {

class DataChecks : public ::testing::Test {
 protected:
  void SetUp() override { set_data_checks(true); }
  void TearDown() override { set_data_checks(false); }
};

TEST_F(DataChecks, NanInputIsAnErrorWhenChecksAreOn) {
  support::HostProblem p(testing::small_spec());
  support::Output o = p.make_output();
  Params params = p.params(o);
  static_cast<float*>(params.k.data)[params.k.strides[0] + 3] =
      std::numeric_limits<float>::infinity();
  try {
    attention(params, "math");
    FAIL() << "expected a data error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::data);
    EXPECT_NE(std::string(e.what()).find("k has inf"), std::string::npos) << e.what();
  }
  set_data_checks(false);  // without checks the value flows through like the reference's
  EXPECT_NO_THROW(attention(params, "math"));
  const auto* out = reinterpret_cast<const float*>(o.out.data());
  bool any_nonfinite = false;
  for (std::int64_t i = 0; i < p.out_elements(); ++i) any_nonfinite |= !std::isfinite(out[i]);
  EXPECT_TRUE(any_nonfinite);
}

TEST_F(DataChecks, FullyMaskedRowsAreReported) {
  support::ProblemSpec s = testing::small_spec();
  s.key_padding = true;  // batch 1 is fully padded
  support::HostProblem p(s);
  support::Output o = p.make_output();
  ::testing::internal::CaptureStderr();
  attention(p.params(o), "math");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("fully masked query rows"), std::string::npos) << err;
  EXPECT_NE(err.find("b=1"), std::string::npos) << err;
}

TEST_F(DataChecks, CleanInputsPassSilently) {
  support::HostProblem p(testing::small_spec());
  support::Output o = p.make_output();
  ::testing::internal::CaptureStderr();
  attention(p.params(o), "math");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(DataChecksState, FollowsSetter) {
  set_data_checks(true);
  EXPECT_TRUE(data_checks_enabled());
  set_data_checks(false);
  EXPECT_FALSE(data_checks_enabled());
}

}  // namespace
}  // namespace attend
