// Error codes, the rejection table, and the reason sink backends report into.
#include "attend/error.hpp"

#include <algorithm>
#include <string>

#include "attend/backend.hpp"

namespace attend {

std::string_view code_name(Code c) noexcept {
  switch (c) {
    case Code::ok:
      return "ok";
    case Code::unavailable:
      return "unavailable";
    case Code::unknown_backend:
      return "unknown_backend";
    case Code::device:
      return "device";
    case Code::device_mismatch:
      return "device_mismatch";
    case Code::dtype:
      return "dtype";
    case Code::dtype_mismatch:
      return "dtype_mismatch";
    case Code::rank:
      return "rank";
    case Code::shape:
      return "shape";
    case Code::head_dim:
      return "head_dim";
    case Code::head_dim_v:
      return "head_dim_v";
    case Code::layout:
      return "layout";
    case Code::stride:
      return "stride";
    case Code::alignment:
      return "alignment";
    case Code::null_pointer:
      return "null_pointer";
    case Code::overflow:
      return "overflow";
    case Code::mask:
      return "mask";
    case Code::mask_shape:
      return "mask_shape";
    case Code::mask_with_causal:
      return "mask_with_causal";
    case Code::causal_align:
      return "causal_align";
    case Code::gqa:
      return "gqa";
    case Code::dropout:
      return "dropout";
    case Code::lse:
      return "lse";
    case Code::varlen:
      return "varlen";
    case Code::window:
      return "window";
    case Code::softcap:
      return "softcap";
    case Code::scale:
      return "scale";
    case Code::data:
      return "data";
    case Code::runtime:
      return "runtime";
    case Code::plugin:
      return "plugin";
    case Code::usage:
      return "usage";
  }
  return "?";
}

std::string format_verdicts(const std::vector<Verdict>& verdicts) {
  std::size_t w_backend = 7, w_what = 4, w_expected = 8;
  for (const Verdict& v : verdicts) {
    w_backend = std::max(w_backend, v.backend.size());
    for (const Reason& r : v.reasons) {
      w_what = std::max(w_what, r.what.size());
      w_expected = std::max(w_expected, r.expected.size());
    }
  }
  auto pad = [](const std::string& s, std::size_t w) {
    return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
  };
  std::string out = pad("backend", w_backend) + " | " + pad("what", w_what) + " | " +
                    pad("expected", w_expected) + " | got\n";
  out += std::string(w_backend, '-') + "-+-" + std::string(w_what, '-') + "-+-" +
         std::string(w_expected, '-') + "-+-----\n";
  for (const Verdict& v : verdicts) {
    if (v.ok) {
      out += pad(v.backend, w_backend) + " | " + pad("(can run)", w_what) + " | " +
             pad("", w_expected) + " |\n";
    }
    for (const Reason& r : v.reasons) {
      out += pad(v.backend, w_backend) + " | " + pad(r.what, w_what) + " | " +
             pad(r.expected, w_expected) + " | " + r.got + "\n";
    }
    for (const std::string& n : v.notes) out += pad(v.backend, w_backend) + " | note: " + n + "\n";
  }
  return out;
}

namespace {

std::string no_backend_message(const std::string& requested, const std::vector<Verdict>& verdicts) {
  std::string head = requested == "auto"
                         ? "attend: no backend can run this problem"
                         : "attend: backend '" + requested + "' cannot run this problem";
  return head + ":\n" + format_verdicts(verdicts);
}

}  // namespace

NoBackendError::NoBackendError(std::string requested, std::vector<Verdict> verdicts)
    : Error(Code::unavailable, no_backend_message(requested, verdicts)),
      requested_(std::move(requested)),
      verdicts_(std::move(verdicts)) {}

void ReasonSink::refuse(Code code, std::string_view what, std::string expected, std::string got) {
  refused_ = true;
  if (detailed_) reasons_.push_back({code, std::string(what), std::move(expected), std::move(got)});
}

void ReasonSink::note(std::string text) {
  if (detailed_) notes_.push_back(std::move(text));
}

void Backend::check(const Problem&, ReasonSink&) const {}

}  // namespace attend
