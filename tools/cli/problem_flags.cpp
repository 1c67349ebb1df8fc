#include "problem_flags.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <string_view>
#include <vector>

#include "problem_size.hpp"
#include "support/workloads.hpp"
#include "usage_error.hpp"
#include "validators.hpp"

namespace attend::cli {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(sep, start);
    parts.push_back(text.substr(start, at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::int64_t int_item(const std::string& flag, const std::string& item, std::int64_t min) {
  const auto v = parse_int(item);
  if (!v) throw UsageError(fmt::format("{}: '{}' is not an integer", flag, item));
  if (*v < min) throw UsageError(fmt::format("{}: {} is below the minimum {}", flag, *v, min));
  return *v;
}

std::string workload_names() {
  std::string names;
  for (const auto& w : support::workloads()) names += (names.empty() ? "" : ", ") + w.name;
  return names;
}

Window parse_window(const std::string& text) {
  const auto parts = split(text, ',');
  if (parts.size() != 2)
    throw UsageError("--window: expected L,R (-1 = unbounded), got '" + text + "'");
  return {int_item("--window", parts[0], -1), int_item("--window", parts[1], -1)};
}

// "100,0,37" (the same lengths for queries and keys) or "100/80,0/5" (query/key lengths).
void parse_varlen(const std::string& text, support::ProblemSpec& spec) {
  for (const std::string& item : split(text, ',')) {
    const auto qk = split(item, '/');
    if (qk.size() > 2) throw UsageError("--varlen: expected LEN or QLEN/KLEN, got '" + item + "'");
    spec.seqlens_q.push_back(int_item("--varlen", qk[0], 0));
    spec.seqlens_k.push_back(qk.size() == 2 ? int_item("--varlen", qk[1], 0)
                                            : spec.seqlens_q.back());
  }
}

// Sizes or the names B, H (= Hq), Sq and Sk, e.g. "1,1,Sq,Sk" or "B,Sk".
std::vector<std::int64_t> parse_mask_shape(const std::string& text, const support::ProblemSpec& s) {
  std::vector<std::int64_t> shape;
  for (const std::string& item : split(text, ',')) {
    if (item == "B") {
      shape.push_back(s.B);
    } else if (item == "H" || item == "Hq") {
      shape.push_back(s.Hq);
    } else if (item == "Sq") {
      shape.push_back(s.Sq);
    } else if (item == "Sk") {
      shape.push_back(s.Sk);
    } else {
      shape.push_back(int_item("--mask-shape", item, 0));
    }
  }
  if (shape.size() > 4) throw UsageError("--mask-shape: at most 4 dimensions, got '" + text + "'");
  return shape;
}

}  // namespace

void add_problem_flags(CLI::App& app, ProblemFlags& f) {
  f.app = &app;
  const char* group = "Problem";
  app.add_option("--workload", f.workload,
                 "a named workload (" + workload_names() + "); the flags below override its sizes")
      ->group(group);
  const CLI::Validator positive = at_least(1);
  const CLI::Validator nonneg = at_least(0);
  app.add_option("-b,--batch", f.batch, "batch size B (default 1)")->group(group)->check(positive);
  app.add_option("--hq", f.hq, "query heads (default 8)")->group(group)->check(positive);
  app.add_option("--hkv", f.hkv, "key/value heads (default: Hq)")->group(group)->check(positive);
  app.add_option("--sq", f.sq, "query length (default 512)")->group(group)->check(nonneg);
  app.add_option("--sk", f.sk, "key length (default: Sq)")->group(group)->check(nonneg);
  app.add_option("-d,--head-dim", f.head_dim, "head dim D of q and k (default 64)")
      ->group(group)
      ->check(positive);
  app.add_option("--dv", f.dv, "head dim of v and out (default: D)")->group(group)->check(positive);
  app.add_option("--dtype", f.dtype, "element type of q/k/v/out")
      ->capture_default_str()
      ->group(group)
      ->check(dtype_validator());
  app.add_option("--layout", f.layout, "bshd or bhsd (varlen is thd)")
      ->capture_default_str()
      ->group(group)
      ->check(CLI::IsMember({"bshd", "bhsd", "thd"}, CLI::ignore_case));
  app.add_flag("--causal", f.causal, "causal masking")->group(group);
  app.add_option("--align", f.align, "causal/window alignment when Sq != Sk")
      ->capture_default_str()
      ->group(group)
      ->check(CLI::IsMember({"top-left", "bottom-right"}));
  app.add_option("--window", f.window, "sliding window L,R (-1 = unbounded)")
      ->type_name("L,R")
      ->group(group);
  app.add_option("--softcap", f.softcap, "score = softcap * tanh(score / softcap)")
      ->group(group)
      ->check(nonneg);
  app.add_option("--mask", f.mask, "attn_mask kind")
      ->capture_default_str()
      ->group(group)
      ->check(CLI::IsMember({"none", "bool", "additive"}));
  app.add_option("--mask-shape", f.mask_shape,
                 "mask shape, any broadcast of (B,H,Sq,Sk): sizes or the names B,H,Sq,Sk, e.g. "
                 "1,1,Sq,Sk (default: B,H,Sq,Sk)")
      ->type_name("DIMS")
      ->group(group);
  app.add_flag("--key-padding", f.key_padding, "a random (B,Sk) key padding mask")->group(group);
  app.add_option("--dropout", f.dropout, "dropout probability")->group(group);
  app.add_flag("--lse", f.lse, "also return the log-sum-exp")->group(group);
  app.add_option("--varlen", f.varlen,
                 "packed sequences (THD): lengths 100,0,37 or query/key pairs 100/80,0/5")
      ->type_name("LENS")
      ->group(group);
  app.add_option("--seed", f.seed, "seed of the random inputs")
      ->capture_default_str()
      ->group(group);
  app.add_flag("--strided", f.strided, "pad q/k/v rows so that nothing is contiguous")
      ->group(group);
  app.add_option("--inputs", f.inputs,
                 "how q/k/v are drawn: normal; channel-offsets (K offset per channel, sd 25); "
                 "outlier-tokens (0.1% of tokens x100); outlier-values (0.1% of values x100); "
                 "wide-range (q/k rows x10^U(-3,0.5), v channels x10^U(-4,6))")
      ->capture_default_str()
      ->group(group)
      ->check(CLI::IsMember(
          {"normal", "channel-offsets", "outlier-tokens", "outlier-values", "wide-range"}));
}

support::ProblemSpec to_spec(const ProblemFlags& f) {
  auto given = [&](const char* name) { return f.app != nullptr && f.app->count(name) > 0; };
  support::ProblemSpec s;
  s.B = f.batch;
  s.Hq = f.hq;
  s.Sq = f.sq;
  s.D = f.head_dim;
  if (!f.workload.empty()) {
    const auto w = support::find_workload(f.workload);
    if (!w) {
      throw UsageError("--workload: unknown workload '" + f.workload +
                       "'; known: " + workload_names());
    }
    s.B = given("--batch") ? f.batch : w->B;
    s.Hq = given("--hq") ? f.hq : w->Hq;
    s.Hkv = given("--hkv") ? f.hkv : w->Hkv;
    s.Sq = given("--sq") ? f.sq : w->S;
    s.Sk = given("--sk") ? f.sk : w->S;
    s.D = given("--head-dim") ? f.head_dim : w->D;
    s.causal = w->causal || f.causal;
  } else {
    s.Hkv = given("--hkv") ? f.hkv : s.Hq;
    s.Sk = given("--sk") ? f.sk : s.Sq;
    s.causal = f.causal;
  }
  s.Dv = f.dv;
  s.dtype = parse_float_dtype(f.dtype);
  s.layout = CLI::detail::to_lower(f.layout) == "bhsd" ? Layout::BHSD : Layout::BSHD;
  s.align = f.align == "bottom-right" ? Align::bottom_right : Align::top_left;
  if (!f.window.empty()) s.window = parse_window(f.window);
  s.softcap = f.softcap;
  s.dropout_p = f.dropout;
  s.key_padding = f.key_padding;
  s.lse = f.lse;
  s.seed = f.seed;
  s.strided = f.strided;
  for (support::Inputs in :
       {support::Inputs::normal, support::Inputs::channel_offsets, support::Inputs::outlier_tokens,
        support::Inputs::outlier_values, support::Inputs::wide_range}) {
    if (support::name(in) == f.inputs) s.inputs = in;
  }

  if (!f.varlen.empty()) {
    if (!f.workload.empty()) {
      throw UsageError("--varlen: named workloads are dense; drop --workload");
    }
    for (const char* flag : {"--batch", "--sq", "--sk"}) {
      if (given(flag)) {
        throw UsageError(fmt::format("{} comes from --varlen; drop one of them", flag));
      }
    }
    if (given("--layout") && CLI::detail::to_lower(f.layout) != "thd") {
      throw UsageError("--varlen packs sequences as THD; --layout " + f.layout + " contradicts it");
    }
    parse_varlen(f.varlen, s);
    s.B = static_cast<std::int64_t>(s.seqlens_q.size());
    s.Sq = s.seqlens_q.empty() ? 0 : *std::max_element(s.seqlens_q.begin(), s.seqlens_q.end());
    s.Sk = s.seqlens_k.empty() ? 0 : *std::max_element(s.seqlens_k.begin(), s.seqlens_k.end());
  } else if (CLI::detail::to_lower(f.layout) == "thd") {
    throw UsageError("--layout thd needs --varlen with the sequence lengths");
  }

  if (f.mask == "bool") s.mask = support::MaskKind::boolean;
  if (f.mask == "additive") s.mask = support::MaskKind::additive;
  if (!f.mask_shape.empty()) {
    if (s.mask == support::MaskKind::none) {
      throw UsageError("--mask-shape needs --mask bool or --mask additive");
    }
    s.mask_shape = parse_mask_shape(f.mask_shape, s);
  }
  return s;
}

std::string problem_line(const support::ProblemSpec& spec, const std::string& workload) {
  std::string line = spec.describe();
  if (!workload.empty()) line += " (" + workload + ")";
  return line + fmt::format(", {:.3g} FLOPs", support::flops(spec));
}

}  // namespace attend::cli
