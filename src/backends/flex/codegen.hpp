// The source of a flex module: the user's score_mod and mask_mod as the hooks of a flash3
// instantiation (dtype, head dim) plus the block-mask kernel, and the key that names the module
// in the caches. Plain C++: nothing here needs a GPU.
#pragma once

#include <string>
#include <vector>

#include "attend/flex.hpp"
#include "attend/tensor.hpp"

namespace attend::flex {

struct Source {
  std::string text;                           // the translation unit NVRTC compiles
  std::vector<std::string> name_expressions;  // [0] the attention kernel, [1] the block mask's
};

// What a module is specialised for besides the spec.
struct Variant {
  DType dtype = DType::bf16;  // f16 or bf16
  int kernel_dim = 128;       // 64, 128 or 256
  bool general = false;       // the general softmax path: a score_mod, or a scale <= 0
  bool operator==(const Variant&) const = default;
};

// Everything the module depends on besides attend's own headers: the sources, the tensors'
// names and dtypes, the variant.
std::string module_key(const FlexSpec& spec, const Variant& v);

Source generate(const FlexSpec& spec, const Variant& v);

}  // namespace attend::flex
