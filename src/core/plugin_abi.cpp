// The plugin ABI's data, checked and converted. Every check here exists because the host would
// otherwise trust a number it cannot verify later (a head-dim range, a dtype bit, a pointer).
#include "core/plugin_abi.hpp"

#include "core/text.hpp"
#include "core/validate_backend.hpp"

namespace attend::core {

static_assert(static_cast<int>(DType::f32) == ATTEND_DTYPE_F32 &&
                  static_cast<int>(DType::f16) == ATTEND_DTYPE_F16 &&
                  static_cast<int>(DType::bf16) == ATTEND_DTYPE_BF16 &&
                  static_cast<int>(DType::f64) == ATTEND_DTYPE_F64 &&
                  static_cast<int>(DType::boolean) == ATTEND_DTYPE_BOOL &&
                  static_cast<int>(DType::i32) == ATTEND_DTYPE_I32 &&
                  static_cast<int>(DType::i64) == ATTEND_DTYPE_I64,
              "the C ABI's dtype values are attend::DType's");
static_assert(static_cast<int>(Layout::BSHD) == ATTEND_LAYOUT_BSHD &&
                  static_cast<int>(Layout::BHSD) == ATTEND_LAYOUT_BHSD &&
                  static_cast<int>(Layout::THD) == ATTEND_LAYOUT_THD,
              "the C ABI's layout values are attend::Layout's");

namespace {

constexpr std::uint32_t kKnownDtypes = (1u << 7) - 1u;   // f32 .. i64
constexpr std::uint32_t kKnownLayouts = (1u << 3) - 1u;  // BSHD, BHSD, THD

}  // namespace

std::vector<std::string> validate_description(const attend_plugin& pl) {
  // What only the C form can get wrong: missing strings and functions, unknown enum values and
  // bits. The capability data itself goes through the same checks as any backend's.
  std::vector<std::string> why;
  const attend_capabilities& c = pl.caps;
  if (!pl.id) {
    why.push_back("id is missing");
  } else if (std::string p = id_problem(pl.id); !p.empty()) {
    why.push_back(std::move(p));
  }
  if (!pl.family || !pl.description) why.push_back("family and description must be set");
  if (!pl.availability) why.push_back("availability function is missing");
  if (!pl.run) why.push_back("run function is missing");
  for (const char* const* a = pl.aliases; a && *a; ++a) {
    if (std::string p = id_problem(*a); !p.empty()) why.push_back("alias: " + p);
  }
  if (c.device_kind != ATTEND_DEVICE_CPU && c.device_kind != ATTEND_DEVICE_CUDA) {
    why.push_back(str("device_kind ", c.device_kind, " is neither CPU nor CUDA"));
  }
  if (c.dtypes & ~kKnownDtypes)
    why.push_back(str("dtypes bits 0x", std::hex, c.dtypes, " are unknown"));
  if (c.layouts & ~kKnownLayouts)
    why.push_back(str("layouts bits 0x", std::hex, c.layouts, " are unknown"));
  if (c.flags & ~ATTEND_CAP_ALL_FLAGS) {
    why.push_back(str("unknown capability flags 0x", std::hex, c.flags & ~ATTEND_CAP_ALL_FLAGS));
  }
  for (std::string& p : capability_problems(to_capabilities(c))) why.push_back(std::move(p));
  return why;
}

Capabilities to_capabilities(const attend_capabilities& c) {
  Capabilities caps;
  caps.device = c.device_kind == ATTEND_DEVICE_CUDA ? DeviceKind::cuda : DeviceKind::cpu;
  caps.min_sm = c.min_sm;
  caps.max_sm = c.max_sm;
  for (int t = 0; t < 7; ++t) {
    if (c.dtypes & (1u << t)) caps.dtypes.push_back(static_cast<DType>(t));
  }
  caps.mask_dtypes = caps.dtypes;  // the ABI has no separate mask types: additive masks match q
  for (int l = 0; l < 3; ++l) {
    if (c.layouts & (1u << l)) caps.layouts.push_back(static_cast<Layout>(l));
  }
  caps.head_dim_min = c.head_dim_min;
  caps.head_dim_max = c.head_dim_max;
  caps.head_dim_multiple = c.head_dim_multiple;
  auto has = [&](std::uint32_t flag) { return (c.flags & flag) != 0; };
  caps.different_v_head_dim = has(ATTEND_CAP_DIFFERENT_V_HEAD_DIM);
  caps.bool_mask = has(ATTEND_CAP_BOOL_MASK);
  caps.additive_mask = has(ATTEND_CAP_ADDITIVE_MASK);
  caps.key_padding_mask = has(ATTEND_CAP_KEY_PADDING_MASK);
  caps.mask_with_causal = has(ATTEND_CAP_MASK_WITH_CAUSAL);
  caps.causal_top_left = has(ATTEND_CAP_CAUSAL_TOP_LEFT);
  caps.causal_bottom_right = has(ATTEND_CAP_CAUSAL_BOTTOM_RIGHT);
  caps.window = has(ATTEND_CAP_WINDOW);
  caps.softcap = has(ATTEND_CAP_SOFTCAP);
  caps.gqa = has(ATTEND_CAP_GQA);
  caps.dropout = has(ATTEND_CAP_DROPOUT);
  caps.lse = has(ATTEND_CAP_LSE);
  caps.deterministic = has(ATTEND_CAP_DETERMINISTIC);
  caps.backward = has(ATTEND_CAP_BACKWARD);
  caps.any_strides = has(ATTEND_CAP_ANY_STRIDES);
  caps.alignment_bytes = c.alignment_bytes;
  return caps;
}

attend_problem to_c_problem(const Problem& p) {
  auto tensor = [](const TensorRef& t) {
    return attend_tensor_ref{t.data, t.sb, t.ss, t.sh, t.sd};
  };
  auto mask = [](const MaskRef& m) {
    return attend_mask_ref{m.data, static_cast<std::int32_t>(m.dtype), m.sb, m.sh, m.sq, m.sk};
  };
  attend_problem c{};
  c.struct_size = sizeof(attend_problem);
  c.dtype = static_cast<std::int32_t>(p.dtype);
  c.out_dtype = static_cast<std::int32_t>(p.out_dtype);
  c.device_kind = p.device.kind == DeviceKind::cuda ? ATTEND_DEVICE_CUDA : ATTEND_DEVICE_CPU;
  c.device_index = p.device.index;
  c.layout = static_cast<std::int32_t>(p.params->layout);
  c.B = p.B, c.Sq = p.Sq, c.Sk = p.Sk, c.Hq = p.Hq, c.Hkv = p.Hkv, c.D = p.D, c.Dv = p.Dv;
  c.varlen = p.varlen;
  c.cu_seqlens_q = p.cu_seqlens_q;
  c.cu_seqlens_k = p.cu_seqlens_k;
  c.total_q = p.total_q, c.total_k = p.total_k;
  c.q = tensor(p.q), c.k = tensor(p.k), c.v = tensor(p.v), c.out = tensor(p.out);
  c.mask = mask(p.mask);
  c.key_padding = mask(p.key_padding);
  c.lse = attend_lse_ref{p.lse.data, p.lse.sb, p.lse.sh, p.lse.sq};
  c.causal = p.causal;
  c.align = p.align == Align::top_left ? ATTEND_ALIGN_TOP_LEFT : ATTEND_ALIGN_BOTTOM_RIGHT;
  c.window_left = p.window_left, c.window_right = p.window_right;
  c.scale = p.scale, c.softcap = p.softcap, c.dropout_p = p.dropout_p;
  c.dropout_seed = p.dropout_seed, c.dropout_offset = p.dropout_offset;
  c.stream = p.stream;
  return c;
}

}  // namespace attend::core
