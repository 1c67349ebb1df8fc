// For tests of what backends refuse before any kernel runs: device addresses that are never
// dereferenced, and lookups in an Explanation.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "attend/attend.hpp"

namespace attend::testing_verdicts {

// Distinct, 16-byte aligned, never dereferenced (explain never touches the tensors).
inline void* fake_address(std::uintptr_t slot) {
  return reinterpret_cast<void*>((slot + 1) << 36);
}

// A dense BSHD problem on cuda:0: batch 2, S tokens, 4 heads, head dim D.
inline Params dense(std::int64_t D, DType dtype = DType::bf16, std::int64_t S = 64) {
  const Device gpu = Device::cuda(0);
  Params p;
  p.q = view(fake_address(0), dtype, gpu, {2, S, 4, D});
  p.k = view(fake_address(1), dtype, gpu, {2, S, 4, D});
  p.v = view(fake_address(2), dtype, gpu, {2, S, 4, D});
  p.out = view(fake_address(3), dtype, gpu, {2, S, 4, D});
  return p;
}

// The verdict of backend `id` (a test failure when it is not registered). The reference lives
// as long as `ex`.
inline const Verdict& verdict(const Explanation& ex, std::string_view id) {
  for (const Verdict& v : ex.verdicts) {
    if (v.backend == id) return v;
  }
  static const Verdict none;
  ADD_FAILURE() << id << " is not registered";
  return none;
}

inline bool refuses_with(const Verdict& v, Code code) {
  for (const Reason& r : v.reasons) {
    if (r.code == code) return true;
  }
  return false;
}

inline bool has_note(const Verdict& v, std::string_view text) {
  for (const std::string& n : v.notes) {
    if (n.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace attend::testing_verdicts
