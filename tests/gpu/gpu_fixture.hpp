// Shared by the GPU tests: the skip rule (no CUDA device: skipped, never failed), the GPU
// backends, a fixture per backend, a backend's refusal in words, and the comparison messages.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "attend/attend.hpp"
#include "support/device_problem.hpp"
#include "support/host_problem.hpp"

// Skips the calling test (body or SetUp) on a machine or build without a CUDA device.
#define ATTEND_REQUIRE_GPU()                                                           \
  do {                                                                                 \
    if (!::attend::support::cuda_device_present())                                     \
      GTEST_SKIP() << "no CUDA device in this process (or attend built without CUDA)"; \
  } while (0)

namespace attend::gpu_testing {

// Registered backends that run on CUDA devices, available here or not.
inline std::vector<std::string> gpu_backends() {
  std::vector<std::string> out;
  for (const BackendInfo& b : list_backends()) {
    if (b.capabilities.device == DeviceKind::cuda) out.push_back(b.id);
  }
  return out;
}

inline Availability availability_of(const std::string& id) {
  for (const BackendInfo& b : list_backends()) {
    if (b.id == id) return b.availability;
  }
  return {0, "not registered"};
}

// Skips the calling test (a fixture's SetUp) unless there is a CUDA device and `backend` is
// available on it.
inline void require_available(const std::string& backend) {
  ATTEND_REQUIRE_GPU();
  const Availability a = availability_of(backend);
  if (a.score <= 0) GTEST_SKIP() << backend << " is unavailable: " << a.reason;
}

// For tests whose parameter is a GPU backend's id: skipped where that backend cannot run.
class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { require_available(GetParam()); }
};

// Why `backend` refuses `params` (every reason), or nothing when it would run them.
inline std::optional<std::string> refusal(const Params& params, const std::string& backend) {
  const Explanation ex = explain(params, backend);
  for (const Verdict& v : ex.verdicts) {
    if (v.backend != backend) continue;
    if (v.ok) return std::nullopt;
    std::string why;
    for (const Reason& r : v.reasons) {
      why += std::string(code_name(r.code)) + " (" + r.what + ": " + r.got + ") ";
    }
    return why;
  }
  return std::string("not registered");
}

// Whether `backend`'s verdict on `params` carries a note containing `text`.
inline bool has_note(const Params& params, const std::string& backend, const std::string& text) {
  for (const Verdict& v : explain(params, backend).verdicts) {
    if (v.backend != backend) continue;
    for (const std::string& n : v.notes) {
      if (n.find(text) != std::string::npos) return true;
    }
  }
  return false;
}

// The CPU reference's output for a host problem.
inline support::Output reference(const support::HostProblem& host) {
  support::Output ref = host.make_output();
  attention(host.params(ref), "math");
  return ref;
}

inline std::string describe(const support::Comparison& c) {
  std::ostringstream os;
  os << "rel_l2 " << c.rel_l2 << ", max_abs " << c.max_abs << ", NaN/unwritten " << c.nan
     << ", lse max_abs " << c.lse_max_abs << ", lse -inf/finite mismatches " << c.lse_mismatch
     << ", lse max_rel " << c.lse_max_rel << ", cosine " << c.cosine << ", rel_l1 " << c.rel_l1;
  return os.str();
}

// Whether `backend`'s output on `spec` is as accurate as it must be: the dtype's tolerance, or
// for a quantized backend the cosine and relative-L1 bounds, and its LSE bound except on
// outlier tokens (a key 100x longer than the rest carries 100x the int8 error into the LSE).
inline bool accurate(const std::string& backend, const support::Comparison& c,
                     const support::ProblemSpec& spec) {
  for (const BackendInfo& b : list_backends()) {
    if (b.id == backend && b.capabilities.quantized) {
      return support::passes_quantized(c, spec.inputs != support::Inputs::outlier_tokens);
    }
  }
  return support::passes(c, spec.dtype);
}

// What a caller may check further on each spec once its output has been compared: the spec,
// the problem on the device, the backend's output and the comparison.
using AfterCompare = std::function<void(const support::ProblemSpec&, support::DeviceProblem&,
                                        const support::Output&, const support::Comparison&)>;

// `backend` against cuda_math on each spec (seeds numbered from `first_seed`), outputs poisoned
// before the backend runs; a refusal fails. Skipped where the backend is unavailable.
inline void expect_matches_cuda_math(const std::string& backend,
                                     const std::vector<support::ProblemSpec>& specs,
                                     int first_seed = 900, const AfterCompare& after = {}) {
  require_available(backend);
  if (::testing::Test::IsSkipped()) return;
  int seed = first_seed;
  for (support::ProblemSpec spec : specs) {
    spec.seed = ++seed;
    SCOPED_TRACE(spec.describe());
    support::HostProblem host(spec);
    support::DeviceProblem dev(host);
    if (auto why = refusal(dev.params(), backend)) {
      ADD_FAILURE() << backend << " refuses " << spec.describe() << ": " << *why;
      continue;
    }
    attention(dev.params(), "cuda_math");
    const support::Output ref = dev.download();
    dev.poison_outputs();
    attention(dev.params(), backend);
    const support::Output got = dev.download();
    const support::Comparison cmp = support::compare(host, got, ref);
    EXPECT_TRUE(accurate(backend, cmp, spec)) << describe(cmp);
    if (after) after(spec, dev, got, cmp);
  }
}

}  // namespace attend::gpu_testing
