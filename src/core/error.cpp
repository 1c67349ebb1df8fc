// Error codes, the rejection table, and the reason sink backends report into.
#include "attend/error.hpp"

#include <algorithm>
#include <array>
#include <ostream>
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
    case Code::unsupported:
      return "unsupported";
    case Code::flex:
      return "flex";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, Code c) {
  return os << code_name(c);
}

std::string format_verdicts(const std::vector<Verdict>& verdicts) {
  using Row = std::array<std::string, 4>;
  std::vector<Row> rows{{"backend", "what", "expected", "got"}};
  std::vector<std::string> notes;
  for (const Verdict& v : verdicts) {
    if (v.ok) rows.push_back({v.backend, "(can run)", "", ""});
    for (const Reason& r : v.reasons) {
      rows.push_back(
          {v.backend, r.what, r.expected, r.got + " [" + std::string(code_name(r.code)) + "]"});
    }
    for (const std::string& n : v.notes) notes.push_back(v.backend + ": " + n);
  }
  std::array<std::size_t, 4> width{};
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (std::size_t i = 0; i < 4; ++i) {
      line += rows[r][i];
      if (i < 3) line += std::string(width[i] - rows[r][i].size(), ' ') + " | ";
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
    if (r == 0) {
      out += std::string(width[0], '-') + "-+-" + std::string(width[1], '-') + "-+-" +
             std::string(width[2], '-') + "-+-" + std::string(width[3], '-') + "\n";
    }
  }
  for (const std::string& n : notes) out += "note: " + n + "\n";
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
    : Error(verdicts.size() == 1 && !verdicts[0].reasons.empty() ? verdicts[0].reasons[0].code
                                                                 : Code::unavailable,
            no_backend_message(requested, verdicts)),
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
