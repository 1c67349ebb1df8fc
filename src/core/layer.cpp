// Attention layers: a per-layer backend that sits between scopes and the process default.
#include "attend/layer.hpp"

#include "core/dispatch.hpp"

namespace attend {

void Attention::set_backend(std::string_view id) {
  backend_ = resolve_backend_id(id);
}

void Attention::operator()(const Params& params) const {
  core::dispatch(params, core::pick(backend_ ? &*backend_ : nullptr));
}

Explanation Attention::explain(const Params& params) const {
  return core::explain(params, core::pick(backend_ ? &*backend_ : nullptr));
}

}  // namespace attend
