// Attention layers that carry their own backend setting, and per-model selection: a model is any
// type that can enumerate its attention layers. Setting one model touches no other model, no
// thread's scopes and no process default.
#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <string_view>

#include "attend/params.hpp"
#include "attend/registry.hpp"

namespace attend {

class Attention {
 public:
  Attention() = default;
  explicit Attention(std::string_view backend) { set_backend(backend); }

  // Validates the id (or diffusers alias) and stores the resolved attend id.
  void set_backend(std::string_view id);
  void reset_backend() noexcept { backend_.reset(); }
  const std::optional<std::string>& backend() const noexcept { return backend_; }

  // Runs with: scope (if any) > this layer's backend > process default.
  void operator()(const Params& params) const;
  // What this layer would do with the problem, by the same rule.
  Explanation explain(const Params& params) const;

 private:
  std::optional<std::string> backend_;
};

// A model exposes its attention layers through `for_each_attention_layer(f)`, calling
// f(Attention&).
template <class Model>
concept AttentionModel = requires(Model& model) {
  model.for_each_attention_layer([](Attention&) {});
};

template <AttentionModel Model>
void set_attention_backend(Model& model, std::string_view id) {
  const std::string resolved = resolve_backend_id(id);  // validate once, before touching layers
  model.for_each_attention_layer([&](Attention& layer) { layer.set_backend(resolved); });
}

template <AttentionModel Model>
void reset_attention_backend(Model& model) {
  model.for_each_attention_layer([](Attention& layer) { layer.reset_backend(); });
}

}  // namespace attend
