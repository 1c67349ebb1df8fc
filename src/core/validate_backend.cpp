#include "core/validate_backend.hpp"

#include "attend/registry.hpp"
#include "core/text.hpp"

namespace attend::core {

std::string id_problem(std::string_view id) {
  if (id.empty() || id.size() > 64)
    return str("id '", id, "' must be 1-64 characters of [a-z0-9_]");
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return str("id '", id, "' must be 1-64 characters of [a-z0-9_]");
    }
  }
  if (is_auto(id)) return str("id '", id, "' is reserved");
  return {};
}

std::vector<std::string> capability_problems(const Capabilities& c) {
  std::vector<std::string> why;
  if (c.min_sm < 0 || c.max_sm < 0 || (c.max_sm > 0 && c.min_sm > c.max_sm)) {
    why.push_back(str("SM range [", c.min_sm, ", ", c.max_sm, "] is empty or negative"));
  }
  if (c.dtypes.empty()) why.push_back("no dtypes are declared");
  for (DType t : c.dtypes) {
    if (!is_floating(t)) why.push_back(str("dtype ", name(t), " is not floating point"));
  }
  for (DType t : c.mask_dtypes) {
    if (!is_floating(t)) why.push_back(str("mask dtype ", name(t), " is not floating point"));
  }
  if (c.layouts.empty()) why.push_back("no layouts are declared");
  if (c.head_dim_min < 1) why.push_back(str("head_dim_min ", c.head_dim_min, " < 1"));
  if (c.head_dim_max != 0 && c.head_dim_max < c.head_dim_min) {
    why.push_back(str("head_dim_max ", c.head_dim_max, " < head_dim_min ", c.head_dim_min));
  }
  if (c.head_dim_multiple < 1)
    why.push_back(str("head_dim_multiple ", c.head_dim_multiple, " < 1"));
  if (c.mask_with_causal &&
      (!(c.bool_mask || c.additive_mask) || !(c.causal_top_left || c.causal_bottom_right))) {
    why.push_back("masks with causal are claimed without a mask kind or a causal alignment");
  }
  if (c.alignment_bytes < 0 || (c.alignment_bytes & (c.alignment_bytes - 1)) != 0) {
    why.push_back(str("alignment_bytes ", c.alignment_bytes, " is not 0 or a power of two"));
  }
  return why;
}

std::vector<std::string> backend_problems(const Backend& b) {
  std::vector<std::string> why;
  if (std::string p = id_problem(b.id()); !p.empty()) why.push_back(std::move(p));
  for (const std::string& alias : b.aliases()) {
    if (std::string p = id_problem(alias); !p.empty()) why.push_back("alias: " + p);
  }
  for (std::string& p : capability_problems(b.capabilities())) why.push_back(std::move(p));
  return why;
}

}  // namespace attend::core
