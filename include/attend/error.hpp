// The error model: bad input throws attend::Error with a stable code; a backend that cannot run a
// valid problem gives Reasons with the same codes, and NoBackendError carries all of them.
#pragma once

#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace attend {

// Stable codes, shared by input errors and backend refusals. Their names (code_name) are part of
// the API: tests, the CLI and the C ABI use them.
enum class Code : int {
  ok = 0,
  unavailable,       // the backend cannot run on this machine at all
  unknown_backend,   // no backend has that id
  device,            // tensor device not supported by the backend
  device_mismatch,   // tensors on different devices
  dtype,             // element type not supported
  dtype_mismatch,    // q/k/v/out element types disagree
  rank,              // wrong number of dimensions for the layout
  shape,             // sizes that disagree (batch, heads, sequence, head dim)
  head_dim,          // head dim outside what the backend supports
  head_dim_v,        // V head dim differs from Q/K's and the backend needs them equal
  layout,            // layout not supported
  stride,            // strides the backend (or attend) cannot take
  alignment,         // pointer not aligned enough
  null_pointer,      // data pointer missing for a non-empty tensor
  overflow,          // a size or offset does not fit in int64 / the kernel's index type
  mask,              // mask kind/dtype not supported
  mask_shape,        // mask shape not broadcastable to (B,H,Sq,Sk)
  mask_with_causal,  // attn_mask together with is_causal where that is refused
  causal_align,      // causal alignment not supported
  gqa,               // Hq != Hkv not enabled, not divisible, or not supported
  dropout,           // dropout not supported or p outside [0,1)
  lse,               // LSE output wrong or not supported
  varlen,            // cu_seqlens missing/wrong or varlen not supported
  window,            // sliding window not supported or invalid
  softcap,           // softcap not supported or invalid
  scale,             // scale not finite
  data,              // a data check (ATTEND_CHECKS=1) failed: NaN/Inf, cu_seqlens values
  runtime,           // the kernel or library failed while running
  plugin,            // a run-time backend was refused
  usage,             // API misuse (e.g. popping a C API scope that was never pushed)
  unsupported,       // the backend's library declines this combination (its message says why)
  flex,              // a flex spec the backend cannot take, or one that is wrong (source, tensors)
};

std::string_view code_name(Code c) noexcept;
std::ostream& operator<<(std::ostream& os, Code c);  // prints code_name(c)

class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Code code() const noexcept { return code_; }

 private:
  Code code_;
};

// One reason a backend refuses a problem: what was checked, what it needs, what it got.
struct Reason {
  Code code = Code::ok;
  std::string what;
  std::string expected;
  std::string got;
};

// A backend's answer for one problem. `ok` iff `reasons` is empty; notes never refuse.
struct Verdict {
  std::string backend;
  bool ok = false;
  int score = 0;  // availability score on this machine; 0 = cannot run here
  std::vector<Reason> reasons;
  std::vector<std::string> notes;
};

// Thrown when the requested backend (or every backend, for "auto") refuses the problem.
// what() is a table: backend | what | expected | got, for every backend considered. code() is
// the named backend's first reason, or `unavailable` when "auto" found no backend.
class NoBackendError : public Error {
 public:
  NoBackendError(std::string requested, std::vector<Verdict> verdicts);
  const std::string& requested() const noexcept { return requested_; }
  const std::vector<Verdict>& verdicts() const noexcept { return verdicts_; }

 private:
  std::string requested_;
  std::vector<Verdict> verdicts_;
};

// Renders verdicts as the backend | what | expected | got table (rejections only, plus notes).
std::string format_verdicts(const std::vector<Verdict>& verdicts);

}  // namespace attend
