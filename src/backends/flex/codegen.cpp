#include "backends/flex/codegen.hpp"

#include "attend/error.hpp"
#include "backends/flash3/params.hpp"
#include "backends/flash3/tiles.hpp"
#include "core/flex_names.hpp"
#include "core/text.hpp"

namespace attend::flex {
namespace {

using core::str;

const char* element_type(DType t) {
  switch (t) {
    case DType::f32:
      return "float";
    case DType::f16:
      return "__half";
    case DType::bf16:
      return "__nv_bfloat16";
    case DType::boolean:
      return "bool";
    case DType::i32:
      return "int";
    case DType::i64:
      return "long long";
    default:
      throw Error(Code::flex, str("attend: flex tensors cannot be ", name(t)));
  }
}

// One hook: the tensors as named views, then the user's lines under a #line directive, so the
// compiler's messages point at the line of the snippet (`score_mod(2): error ...`). A snippet
// without `return` is an expression.
std::string hook(const FlexSpec& spec, const char* signature, const char* label,
                 const std::string& body) {
  std::string s = str("  __device__ __forceinline__ static ", signature,
                      " const attend::flash3::FlexArgs& attend_args) {\n");
  for (std::size_t i = 0; i < spec.tensors.size(); ++i) {
    const FlexTensor& t = spec.tensors[i];
    if (!core::mentions(body, t.name)) continue;
    s += str("    const attend::flex_device::Tensor<", element_type(t.tensor.dtype), "> ", t.name,
             "(attend_args.tensors[", i, "]);\n");
  }
  s += str("#line 1 \"", label, "\"\n");
  s += core::mentions(body, "return") ? body + "\n" : str("return (", body, ");\n");
  s += "  }\n";
  return s;
}

}  // namespace

std::string module_key(const FlexSpec& spec, const Variant& v) {
  std::string k = str("score_mod ", spec.score_mod.size(), ":", spec.score_mod, "\nmask_mod ",
                      spec.mask_mod.size(), ":", spec.mask_mod, "\n");
  for (const FlexTensor& t : spec.tensors) {
    k += str("tensor ", t.name, " ", name(t.tensor.dtype), "\n");
  }
  k += str("dtype ", name(v.dtype), "\nhead_dim ", v.kernel_dim, "\ngeneral ", v.general, "\n");
  return k;
}

Source generate(const FlexSpec& spec, const Variant& v) {
  using flash3::Flash3Params;
  const bool score_mod = !spec.score_mod.empty(), mask_mod = !spec.mask_mod.empty();
  Source src;
  std::string& s = src.text;
  s = "#include \"backends/flash3/kernel.cuh\"\n#include \"backends/flex/rtc/flex_device.cuh\"\n\n";
  // The parameter block crosses from the host compiler to NVRTC as bytes: same size, same
  // offsets, or no kernel.
  s += str("static_assert(sizeof(attend::flash3::Flash3Params) == ", sizeof(Flash3Params),
           " && sizeof(attend::flash::FlashParams) == ", sizeof(flash::FlashParams),
           " && sizeof(attend::flash3::FlexArgs) == ", sizeof(flash3::FlexArgs),
           " && alignof(attend::flash3::Flash3Params) == ", alignof(Flash3Params),
           ", \"the flex parameter block differs from the host's\");\n\n");
  s += "namespace attend_flex_user {\nstruct Mods {\n";
  s += str("  static constexpr bool kScoreMod = ", score_mod ? "true" : "false", ";\n");
  s += str("  static constexpr bool kMaskMod = ", mask_mod ? "true" : "false", ";\n");
  s += hook(spec, "float score(float score, int b, int h, int q_idx, int kv_idx,", "score_mod",
            score_mod ? spec.score_mod : "score");
  s += hook(spec, "bool visible(int b, int h, int q_idx, int kv_idx,", "mask_mod",
            mask_mod ? spec.mask_mod : "true");
  s += "};\n}  // namespace attend_flex_user\n";
  src.name_expressions = {
      str("&attend::flash3::flash3_fwd_kernel<", element_type(v.dtype), ", ", v.kernel_dim, ", ",
          v.general ? "true" : "false", ", attend_flex_user::Mods>"),
      str("&attend::flex_device::block_mask_kernel<attend_flex_user::Mods, ",
          flash3::key_tile(v.kernel_dim), ">")};
  return src;
}

}  // namespace attend::flex
