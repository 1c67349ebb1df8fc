// `attend list`: every registered backend, whether it can run here and why, and its
// capabilities as the dispatcher sees them.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attend/registry.hpp"
#include "commands.hpp"

namespace attend::cli {
namespace {

std::string layout_text(Layout l) {
  switch (l) {
    case Layout::BSHD:
      return "bshd";
    case Layout::BHSD:
      return "bhsd";
    case Layout::THD:
      return "thd";
  }
  return "?";
}

std::vector<std::string> dtype_names(const Capabilities& c) {
  std::vector<std::string> out;
  for (DType t : c.dtypes) out.emplace_back(name(t));
  return out;
}

std::vector<std::string> layout_names(const Capabilities& c) {
  std::vector<std::string> out;
  for (Layout l : c.layouts) out.push_back(layout_text(l));
  return out;
}

std::string head_dims_text(const Capabilities& c) {
  std::string s = fmt::format("{}..{}", c.head_dim_min,
                              c.head_dim_max > 0 ? std::to_string(c.head_dim_max) : "");
  if (c.head_dim_multiple > 1) s += fmt::format(" (multiple of {})", c.head_dim_multiple);
  return s;
}

std::vector<std::string> mask_names(const Capabilities& c) {
  std::vector<std::string> out;
  if (c.bool_mask) out.emplace_back("bool");
  if (c.additive_mask) out.emplace_back("additive");
  if (c.key_padding_mask) out.emplace_back("key-padding");
  if (c.mask_with_causal) out.emplace_back("with-causal");
  return out;
}

std::vector<std::string> causal_names(const Capabilities& c) {
  std::vector<std::string> out;
  if (c.causal_top_left) out.emplace_back("top-left");
  if (c.causal_bottom_right) out.emplace_back("bottom-right");
  return out;
}

std::vector<std::string> feature_names(const Capabilities& c) {
  std::vector<std::string> out;
  const std::pair<bool, const char*> flags[] = {{c.window, "window"},
                                                {c.softcap, "softcap"},
                                                {c.gqa, "gqa"},
                                                {c.dropout, "dropout"},
                                                {c.lse, "lse"},
                                                {c.different_v_head_dim, "dv!=d"},
                                                {c.deterministic, "deterministic"},
                                                {c.backward, "backward"}};
  for (const auto& [on, label] : flags) {
    if (on) out.emplace_back(label);
  }
  return out;
}

bool varlen(const Capabilities& c) {
  for (Layout l : c.layouts) {
    if (l == Layout::THD) return true;
  }
  return false;
}

std::string device_text(const Capabilities& c) {
  if (c.device == DeviceKind::cpu) return "cpu";
  if (c.min_sm == 0 && c.max_sm == 0) return "cuda";
  return fmt::format("cuda sm{}..{}", c.min_sm, c.max_sm > 0 ? std::to_string(c.max_sm) : "");
}

std::string joined(const std::vector<std::string>& items) {
  return items.empty() ? "-" : fmt::format("{}", fmt::join(items, ", "));
}

nlohmann::ordered_json to_json(const BackendInfo& b) {
  const Capabilities& c = b.capabilities;
  nlohmann::ordered_json caps = {
      {"device", device_text(c)},
      {"dtypes", dtype_names(c)},
      {"layouts", layout_names(c)},
      {"varlen", varlen(c)},
      {"head_dim_min", c.head_dim_min},
      {"head_dim_max",  // null: unbounded
       c.head_dim_max > 0 ? nlohmann::ordered_json(c.head_dim_max) : nlohmann::ordered_json()},
      {"head_dim_multiple", c.head_dim_multiple},
      {"different_v_head_dim", c.different_v_head_dim},
      {"bool_mask", c.bool_mask},
      {"additive_mask", c.additive_mask},
      {"key_padding_mask", c.key_padding_mask},
      {"mask_with_causal", c.mask_with_causal},
      {"causal_alignments", causal_names(c)},
      {"window", c.window},
      {"softcap", c.softcap},
      {"gqa", c.gqa},
      {"dropout", c.dropout},
      {"dropout_attend_stream", c.dropout_attend_stream},
      {"lse", c.lse},
      {"deterministic", c.deterministic},
      {"backward", c.backward},
      {"any_strides", c.any_strides},
      {"alignment_bytes", c.alignment_bytes},
      {"quantized", c.quantized},
  };
  return {{"id", b.id},
          {"family", b.family},
          {"description", b.description},
          {"origin", b.origin},
          {"aliases", b.aliases},
          {"available", b.availability.score > 0},
          {"score", b.availability.score},
          {"reason", b.availability.reason},
          {"capabilities", std::move(caps)}};
}

void print_text(const std::vector<BackendInfo>& backends) {
  for (const BackendInfo& b : backends) {
    const Capabilities& c = b.capabilities;
    fmt::print("{}  [{}]  {}\n", b.id, b.family, b.description);
    fmt::print("  available   {} (score {}): {}\n", b.availability.score > 0 ? "yes" : "no",
               b.availability.score, b.availability.reason);
    fmt::print("  origin      {}\n", b.origin);
    fmt::print("  aliases     {}\n", joined(b.aliases));
    fmt::print("  device      {}\n", device_text(c));
    fmt::print("  dtypes      {}\n", joined(dtype_names(c)));
    fmt::print("  head dims   {}{}\n", head_dims_text(c),
               c.different_v_head_dim ? ", Dv may differ" : "");
    fmt::print("  layouts     {}{}\n", joined(layout_names(c)), varlen(c) ? " (varlen)" : "");
    fmt::print("  masks       {}\n", joined(mask_names(c)));
    fmt::print("  causal      {}\n", joined(causal_names(c)));
    fmt::print("  features    {}\n", joined(feature_names(c)));
    if (!c.any_strides || c.alignment_bytes > 0) {
      fmt::print("  memory      {}{}\n", c.any_strides ? "any strides" : "unit head-dim stride",
                 c.alignment_bytes > 0 ? fmt::format(", {}-byte aligned", c.alignment_bytes) : "");
    }
    fmt::print("\n");
  }
  fmt::print(
      "auto takes the first backend in this order (best score first) that passes a problem.\n");
  for (const PluginRefusal& r : plugin_refusals()) {
    fmt::print("\nrefused plugin {}\n  {}\n", r.path, r.reason);
  }
}

}  // namespace

Command add_list_command(CLI::App& parent) {
  struct Options {
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* app = parent.add_subcommand(
      "list", "Every backend: availability on this machine, aliases, origin, capabilities");
  app->add_flag("--json", opts->json, "print JSON instead of text");
  return {app, [opts] {
            const std::vector<BackendInfo> backends = list_backends();
            if (opts->json) {
              nlohmann::ordered_json doc = {{"backends", nlohmann::ordered_json::array()},
                                            {"refused_plugins", nlohmann::ordered_json::array()}};
              for (const BackendInfo& b : backends) doc["backends"].push_back(to_json(b));
              for (const PluginRefusal& r : plugin_refusals()) {
                doc["refused_plugins"].push_back({{"path", r.path}, {"reason", r.reason}});
              }
              fmt::print("{}\n", doc.dump(2));
            } else {
              print_text(backends);
            }
            return 0;
          }};
}

}  // namespace attend::cli
