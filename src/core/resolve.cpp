// Structural validation of a call and its lowering to a Problem. Every message names the tensor,
// what was expected and what was given; nothing here touches tensor data except host cu_seqlens.
#include "core/resolve.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "attend/error.hpp"
#include "attend/flex.hpp"
#include "core/flex_names.hpp"
#include "core/text.hpp"

namespace attend::core {
namespace {

[[noreturn]] void fail(Code code, const std::string& message) {
  throw Error(code, "attend: " + message);
}

std::string shape_text(const TensorView& t) {
  std::string s = "(";
  for (int i = 0; i < t.rank; ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + ")";
}

// Outputs must not alias themselves. Sufficient test: with the dimensions of size > 1 sorted by
// stride, each stride must step past everything the smaller dimensions reach.
void require_no_self_overlap(const TensorView& t, const char* name) {
  int order[kMaxRank];
  int n = 0;
  for (int i = 0; i < t.rank; ++i) {
    if (t.shape[i] > 1) order[n++] = i;
  }
  for (int a = 1; a < n; ++a) {  // insertion sort by stride: at most four entries
    for (int b = a; b > 0 && t.strides[order[b]] < t.strides[order[b - 1]]; --b)
      std::swap(order[b], order[b - 1]);
  }
  std::int64_t reach = 0;  // largest offset reachable with the dimensions seen so far
  for (int k = 0; k < n; ++k) {
    const int i = order[k];
    if (t.strides[i] <= reach) {
      fail(Code::stride, str(name, ": stride ", t.strides[i], " of dimension ", i,
                             " does not step past the smaller dimensions, so its elements may "
                             "overlap; outputs need non-overlapping strides"));
    }
    reach += (t.shape[i] - 1) * t.strides[i];
  }
}

// The bytes [first, last) a (checked) view spans; empty for absent or empty views.
struct ByteRange {
  std::uintptr_t first = 0, last = 0;
  bool empty() const { return first == last; }
  bool overlaps(const ByteRange& o) const {
    return !empty() && !o.empty() && first < o.last && o.first < last;
  }
};

ByteRange bytes_of(const TensorView& t) {
  if (!t.present() || t.numel() <= 0) return {};
  std::int64_t last = 0;
  for (int i = 0; i < t.rank; ++i) last += (t.shape[i] - 1) * t.strides[i];
  const auto base = reinterpret_cast<std::uintptr_t>(t.data);
  return {base, base + static_cast<std::uintptr_t>(last + 1) * size_of(t.dtype)};
}

// out and lse are written while the inputs are read (by other threads too): no sharing.
void require_outputs_apart(const Params& prm) {
  const TensorView* inputs[] = {&prm.q,
                                &prm.k,
                                &prm.v,
                                &prm.attn_mask,
                                &prm.key_padding_mask,
                                &prm.cu_seqlens_q,
                                &prm.cu_seqlens_k,
                                &prm.lse};
  const char* names[] = {
      "q", "k", "v", "attn_mask", "key_padding_mask", "cu_seqlens_q", "cu_seqlens_k", "lse"};
  const ByteRange out = bytes_of(prm.out), lse = bytes_of(prm.lse);
  for (int i = 0; i < 8; ++i) {
    const ByteRange in = bytes_of(*inputs[i]);
    if (out.overlaps(in))
      fail(Code::stride,
           str("out overlaps ", names[i], " in memory: outputs may not alias inputs"));
    if (i < 7 && lse.overlaps(in)) fail(Code::stride, str("lse overlaps ", names[i], " in memory"));
  }
}

// Sizes non-negative, strides non-negative, pointer present and element-aligned, and the largest
// element offset representable in int64.
void check_storage(const TensorView& t, const char* name, bool writable) {
  for (int i = 0; i < t.rank; ++i) {
    if (t.shape[i] < 0) fail(Code::shape, str(name, " has a negative size: ", shape_text(t)));
    if (t.strides[i] < 0) {
      fail(Code::stride, str(name, " has a negative stride ", t.strides[i], " in dimension ", i,
                             "; attend takes non-negative strides"));
    }
  }
  const std::int64_t n = t.numel();
  if (n < 0) fail(Code::overflow, str(name, " ", shape_text(t), ": element count overflows int64"));
  if (n == 0) return;
  std::int64_t last = 0;
  for (int i = 0; i < t.rank; ++i) {
    std::int64_t term;
    if (__builtin_mul_overflow(t.shape[i] - 1, t.strides[i], &term) ||
        __builtin_add_overflow(last, term, &last)) {
      fail(Code::overflow, str(name, " ", shape_text(t), ": largest offset overflows int64"));
    }
  }
  if (writable) require_no_self_overlap(t, name);
  std::int64_t last_byte;
  if (__builtin_mul_overflow(last, static_cast<std::int64_t>(size_of(t.dtype)), &last_byte)) {
    fail(Code::overflow, str(name, ": largest byte offset overflows int64"));
  }
  if (t.data == nullptr) fail(Code::null_pointer, str(name, " has ", n, " elements but no data"));
  if (reinterpret_cast<std::uintptr_t>(t.data) % size_of(t.dtype) != 0) {
    fail(Code::alignment,
         str(name, " data is not aligned to its element size (", size_of(t.dtype), " bytes)"));
  }
}

void require_same_device(const TensorView& t, const char* name, Device device) {
  if (t.present() && t.device != device) {
    fail(Code::device_mismatch,
         str(name, " is on ", to_string(t.device), " but q is on ", to_string(device)));
  }
}

// q/k/v/out: (b, s, h, d) sizes and strides by layout. THD tensors have no batch dimension.
struct Dims {
  std::int64_t b = 0, s = 0, h = 0, d = 0;
  TensorRef ref;
};

Dims canonical(const TensorView& t, Layout layout, const char* name) {
  const int want = layout == Layout::THD ? 3 : 4;
  if (!t.present()) fail(Code::rank, str(name, " is absent"));
  if (t.rank != want) {
    fail(Code::rank, str(name, " must have ", want, " dimensions for layout ", layout_name(layout),
                         ", got ", t.rank, " ", shape_text(t)));
  }
  const auto& sz = t.shape;
  const auto& st = t.strides;
  switch (layout) {
    case Layout::BSHD:
      return {sz[0], sz[1], sz[2], sz[3], {t.data, st[0], st[1], st[2], st[3]}};
    case Layout::BHSD:
      return {sz[0], sz[2], sz[1], sz[3], {t.data, st[0], st[2], st[1], st[3]}};
    case Layout::THD:
      break;
  }
  return {1, sz[0], sz[1], sz[2], {t.data, 0, st[0], st[1], st[2]}};
}

// A mask broadcast to (B, H, Sq, Sk): sizes must be 1 or the problem's.
MaskRef lower_mask(const TensorView& m, const Problem& p) {
  const char* name = "attn_mask";
  if (m.dtype != DType::boolean && !is_floating(m.dtype)) {
    fail(Code::mask, str(name, " must be bool or floating point, got ", attend::name(m.dtype)));
  }
  if (m.rank < 2 || m.rank > 4) {
    fail(Code::mask_shape,
         str(name, " must have shape (Sq,Sk), (B,Sq,Sk) or (B,H,Sq,Sk), got ", shape_text(m)));
  }
  // Pad on the left to (B, H, Sq, Sk).
  std::int64_t size[4] = {1, 1, 1, 1}, stride[4] = {0, 0, 0, 0};
  const int pad = 4 - m.rank;
  for (int i = 0; i < m.rank; ++i) {
    size[pad + i] = m.shape[i];
    stride[pad + i] = m.strides[i];
  }
  if (m.rank == 3) {  // (B, Sq, Sk): the batch belongs in slot 0, not the head slot
    size[0] = size[1];
    stride[0] = stride[1];
    size[1] = 1;
    stride[1] = 0;
  }
  const std::int64_t want[4] = {p.B, p.Hq, p.Sq, p.Sk};
  const char* dim_names[4] = {"B", "H", "Sq", "Sk"};
  for (int i = 0; i < 4; ++i) {
    if (size[i] != 1 && size[i] != want[i]) {
      fail(Code::mask_shape, str(name, " ", shape_text(m), " does not broadcast to (B,H,Sq,Sk) = (",
                                 p.B, ", ", p.Hq, ", ", p.Sq, ", ", p.Sk, "): ", dim_names[i],
                                 " is ", size[i], ", expected 1 or ", want[i]));
    }
    if (size[i] == 1) stride[i] = 0;
  }
  return {m.data, m.dtype, stride[0], stride[1], stride[2], stride[3]};
}

MaskRef lower_key_padding(const TensorView& m, const Problem& p) {
  if (m.dtype != DType::boolean) {
    fail(Code::mask, str("key_padding_mask must be bool, got ", name(m.dtype)));
  }
  if (m.rank != 2 || (m.shape[0] != p.B && m.shape[0] != 1) || m.shape[1] != p.Sk) {
    fail(Code::mask_shape, str("key_padding_mask must have shape (B, Sk) = (", p.B, ", ", p.Sk,
                               "), got ", shape_text(m)));
  }
  MaskRef r{m.data, m.dtype, m.shape[0] == 1 ? 0 : m.strides[0], 0, 0, m.strides[1]};
  return r;
}

// Varlen: int32 (B+1) prefix sums. On the host they are validated here (O(B)); device arrays
// cannot be read without a synchronising copy, so only their shape and the hints are checked.
void resolve_varlen(const Params& prm, Problem& p, std::int64_t total_q, std::int64_t total_k) {
  const TensorView* cus[2] = {&prm.cu_seqlens_q, &prm.cu_seqlens_k};
  const char* names[2] = {"cu_seqlens_q", "cu_seqlens_k"};
  for (int i = 0; i < 2; ++i) {
    const TensorView& c = *cus[i];
    if (!c.present()) fail(Code::varlen, str("layout THD needs ", names[i]));
    if (c.dtype != DType::i32 || c.rank != 1 || c.shape[0] < 1) {
      fail(Code::varlen, str(names[i], " must be int32 of shape (B+1), got ", describe(c)));
    }
    check_storage(c, names[i], false);
  }
  if (prm.cu_seqlens_q.shape[0] != prm.cu_seqlens_k.shape[0]) {
    fail(Code::varlen, str("cu_seqlens_q has ", prm.cu_seqlens_q.shape[0],
                           " entries but cu_seqlens_k has ", prm.cu_seqlens_k.shape[0]));
  }
  if (prm.cu_seqlens_q.strides[0] != 1 || prm.cu_seqlens_k.strides[0] != 1) {
    fail(Code::stride, "cu_seqlens_q and cu_seqlens_k must be contiguous");
  }
  p.varlen = true;
  p.B = prm.cu_seqlens_q.shape[0] - 1;
  p.cu_seqlens_q = static_cast<const std::int32_t*>(prm.cu_seqlens_q.data);
  p.cu_seqlens_k = static_cast<const std::int32_t*>(prm.cu_seqlens_k.data);
  p.total_q = total_q;
  p.total_k = total_k;
  p.Sq = prm.max_seqlen_q;
  p.Sk = prm.max_seqlen_k;
  if (p.Sq < 0 || p.Sk < 0) fail(Code::varlen, "max_seqlen_q/k must be >= 0");
  if (p.device.kind != DeviceKind::cpu) {
    // Device cu_seqlens are not read on the host: the kernels size their grids from the hints.
    if ((total_q > 0 && p.Sq == 0) || (total_k > 0 && p.Sk == 0)) {
      fail(Code::varlen, "max_seqlen_q and max_seqlen_k must be given for device cu_seqlens");
    }
    return;
  }
  const std::int64_t totals[2] = {total_q, total_k};
  std::int64_t max_len[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    const auto* cu = static_cast<const std::int32_t*>(cus[i]->data);
    if (cu[0] != 0) fail(Code::varlen, str(names[i], "[0] must be 0, got ", cu[0]));
    for (std::int64_t b = 0; b < p.B; ++b) {
      if (cu[b + 1] < cu[b]) {
        fail(Code::varlen, str(names[i], " must be non-decreasing: entry ", b + 1, " is ",
                               cu[b + 1], " after ", cu[b]));
      }
      max_len[i] = std::max<std::int64_t>(max_len[i], cu[b + 1] - cu[b]);
    }
    if (cu[p.B] > totals[i]) {
      fail(Code::varlen,
           str(names[i], " ends at ", cu[p.B], " but the packed tensor has ", totals[i], " rows"));
    }
  }
  const std::int64_t given[2] = {prm.max_seqlen_q, prm.max_seqlen_k};
  for (int i = 0; i < 2; ++i) {
    if (given[i] != 0 && given[i] < max_len[i]) {
      fail(Code::varlen, str(i == 0 ? "max_seqlen_q" : "max_seqlen_k", " is ", given[i],
                             " but a sequence has ", max_len[i], " tokens"));
    }
  }
  p.Sq = max_len[0];
  p.Sk = max_len[1];
}

void resolve_lse(const TensorView& l, Problem& p, Layout layout) {
  if (l.dtype != DType::f32) fail(Code::lse, str("lse must be fp32, got ", name(l.dtype)));
  if (layout == Layout::THD) {
    if (l.rank != 2 || l.shape[0] != p.Hq || l.shape[1] != p.total_q) {
      fail(Code::lse, str("lse must have shape (Hq, Tq) = (", p.Hq, ", ", p.total_q, "), got ",
                          shape_text(l)));
    }
    p.lse = {static_cast<float*>(l.data), 0, l.strides[0], l.strides[1]};
    return;
  }
  if (l.rank != 3 || l.shape[0] != p.B || l.shape[1] != p.Hq || l.shape[2] != p.Sq) {
    fail(Code::lse, str("lse must have shape (B, Hq, Sq) = (", p.B, ", ", p.Hq, ", ", p.Sq,
                        "), got ", shape_text(l)));
  }
  p.lse = {static_cast<float*>(l.data), l.strides[0], l.strides[1], l.strides[2]};
}

// A flex spec has something to run, and its tensors are named so its sources can read them: C++
// identifiers, distinct, not the names the functions take, on the problem's device.
void resolve_flex(const FlexSpec& spec, Problem& p) {
  if (!spec.has_source() && !spec.has_callables()) {
    fail(Code::flex, "the flex spec has no score_mod/mask_mod source and no score_fn/mask_fn");
  }
  if (spec.tensors.size() > kMaxFlexTensors) {
    fail(Code::flex,
         str("a flex spec takes at most ", kMaxFlexTensors, " tensors, got ", spec.tensors.size()));
  }
  for (std::size_t i = 0; i < spec.tensors.size(); ++i) {
    const FlexTensor& t = spec.tensors[i];
    if (!is_flex_identifier(t.name)) {
      fail(Code::flex, str("flex tensor name '", t.name,
                           "' must be a C++ identifier other than score, b, h, q_idx, kv_idx"));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (spec.tensors[j].name == t.name) fail(Code::flex, str("flex tensor '", t.name, "' twice"));
    }
    const std::string what = str("flex tensor '", t.name, "'");
    if (!t.tensor.present()) fail(Code::flex, str(what, " is absent"));
    if (t.tensor.rank < 0 || t.tensor.rank > kMaxRank || size_of(t.tensor.dtype) == 0) {
      fail(Code::flex, str(what, " has an unknown rank or dtype"));
    }
    if (t.tensor.dtype == DType::f64) fail(Code::flex, str(what, ": f64 is not readable, use f32"));
    // Tensors serve the device sources; CPU callables capture what they read themselves.
    if (p.device.kind != DeviceKind::cuda) continue;
    require_same_device(t.tensor, what.c_str(), p.device);
    check_storage(t.tensor, what.c_str(), false);
  }
  p.flex = &spec;
}

}  // namespace

Problem resolve(const Params& prm) {
  Problem p;
  p.params = &prm;
  p.stream = prm.stream;
  const Layout layout = prm.layout;
  if (layout != Layout::BSHD && layout != Layout::BHSD && layout != Layout::THD) {
    fail(Code::layout, str("unknown layout value ", static_cast<int>(layout)));
  }
  if (prm.align != Align::top_left && prm.align != Align::bottom_right) {
    fail(Code::causal_align, str("unknown alignment value ", static_cast<int>(prm.align)));
  }
  // Every view's rank and element type are in range before anything indexes or sizes it.
  const TensorView* views[] = {&prm.q,           &prm.k,
                               &prm.v,           &prm.out,
                               &prm.attn_mask,   &prm.key_padding_mask,
                               &prm.lse,         &prm.cu_seqlens_q,
                               &prm.cu_seqlens_k};
  const char* names[] = {
      "q", "k", "v", "out", "attn_mask", "key_padding_mask", "lse", "cu_seqlens_q", "cu_seqlens_k"};
  for (int i = 0; i < 9; ++i) {
    if (views[i]->rank < 0 || views[i]->rank > kMaxRank) {
      fail(Code::rank,
           str(names[i], " has rank ", views[i]->rank, "; attend takes 0 (absent) to ", kMaxRank));
    }
    if (size_of(views[i]->dtype) == 0) {
      fail(Code::dtype,
           str(names[i], " has an unknown dtype value ", static_cast<int>(views[i]->dtype)));
    }
  }
  const Dims q = canonical(prm.q, layout, "q");
  const Dims k = canonical(prm.k, layout, "k");
  const Dims v = canonical(prm.v, layout, "v");
  const Dims o = canonical(prm.out, layout, "out");

  p.dtype = prm.q.dtype;
  p.out_dtype = prm.out.dtype;
  p.device = prm.q.device;
  if (!is_floating(p.dtype)) {
    fail(Code::dtype, str("q must be floating point, got ", name(p.dtype)));
  }
  if (prm.k.dtype != p.dtype || prm.v.dtype != p.dtype) {
    fail(Code::dtype_mismatch, str("q, k and v must share a dtype, got q ", name(p.dtype), ", k ",
                                   name(prm.k.dtype), ", v ", name(prm.v.dtype)));
  }
  if (p.out_dtype != p.dtype) {
    fail(Code::dtype_mismatch,
         str("out must have q's dtype ", name(p.dtype), ", got ", name(p.out_dtype)));
  }
  for (int i = 1; i < 9; ++i) require_same_device(*views[i], names[i], p.device);

  check_storage(prm.q, "q", false);
  check_storage(prm.k, "k", false);
  check_storage(prm.v, "v", false);
  check_storage(prm.out, "out", true);

  p.Hq = q.h;
  p.Hkv = k.h;
  p.D = q.d;
  p.Dv = v.d;
  if (layout == Layout::THD) {
    resolve_varlen(prm, p, q.s, k.s);
  } else {
    if (prm.cu_seqlens_q.present() || prm.cu_seqlens_k.present()) {
      fail(Code::varlen, str("cu_seqlens are given but the layout is ", layout_name(layout),
                             "; packed sequences use Layout::THD"));
    }
    p.B = q.b;
    p.Sq = q.s;
    p.Sk = k.s;
    if (k.b != p.B || v.b != p.B || o.b != p.B) {
      fail(Code::shape,
           str("batch sizes differ: q ", q.b, ", k ", k.b, ", v ", v.b, ", out ", o.b));
    }
  }
  if (v.s != k.s) fail(Code::shape, str("k has ", k.s, " keys but v has ", v.s));
  if (o.s != q.s) fail(Code::shape, str("out has ", o.s, " rows but q has ", q.s));
  if (k.d != p.D) fail(Code::shape, str("q head dim ", p.D, " but k head dim ", k.d));
  if (o.d != p.Dv) fail(Code::shape, str("out head dim ", o.d, " but v head dim ", p.Dv));
  if (v.h != p.Hkv) fail(Code::shape, str("k has ", p.Hkv, " heads but v has ", v.h));
  if (o.h != p.Hq) fail(Code::shape, str("out has ", o.h, " heads but q has ", p.Hq));
  if (p.D < 1 || p.Dv < 1)
    fail(Code::head_dim, str("head dims must be >= 1, got D ", p.D, ", Dv ", p.Dv));
  if (p.Hq < 1 || p.Hkv < 1)
    fail(Code::shape, str("head counts must be >= 1, got Hq ", p.Hq, ", Hkv ", p.Hkv));
  if (p.Hq != p.Hkv) {
    if (p.Hq % p.Hkv != 0) {
      fail(Code::gqa, str("Hq (", p.Hq, ") must be a multiple of Hkv (", p.Hkv, ")"));
    }
    if (!prm.enable_gqa) {
      fail(Code::gqa,
           str("Hq (", p.Hq, ") != Hkv (", p.Hkv, "): set enable_gqa for grouped-query attention"));
    }
  }
  p.q = q.ref;
  p.k = k.ref;
  p.v = v.ref;
  p.out = o.ref;

  if (prm.attn_mask.present() || prm.key_padding_mask.present()) {
    if (p.varlen) {
      fail(Code::mask_shape,
           "masks are not taken with the THD layout: express padding through cu_seqlens");
    }
  }
  if (prm.attn_mask.present()) {
    p.mask = lower_mask(prm.attn_mask, p);  // kind and shape first, then storage
    check_storage(prm.attn_mask, "attn_mask", false);
  }
  if (prm.key_padding_mask.present()) {
    p.key_padding = lower_key_padding(prm.key_padding_mask, p);
    check_storage(prm.key_padding_mask, "key_padding_mask", false);
  }

  if (prm.window.left < -1 || prm.window.right < -1) {
    fail(Code::window, str("window sides must be >= 0, or -1 for unbounded; got (", prm.window.left,
                           ", ", prm.window.right, ")"));
  }
  p.causal = prm.is_causal;
  p.align = prm.align;
  // A side longer than any query-key distance is unbounded; clamping keeps the band arithmetic
  // of every kernel far from int64 overflow.
  const std::int64_t reach = p.Sq + p.Sk + p.total_q + p.total_k + 1;
  p.window_left = prm.window.left > reach ? -1 : prm.window.left;
  p.window_right = prm.window.right > reach ? -1 : prm.window.right;
  if (p.causal) p.window_right = p.window_right < 0 ? 0 : std::min<std::int64_t>(p.window_right, 0);

  p.scale = prm.scale ? *prm.scale : 1.0 / std::sqrt(static_cast<double>(p.D));
  if (!std::isfinite(p.scale)) fail(Code::scale, str("scale must be finite, got ", p.scale));
  if (!(prm.softcap >= 0.0) || !std::isfinite(prm.softcap)) {
    fail(Code::softcap, str("softcap must be >= 0 and finite (0 = off), got ", prm.softcap));
  }
  p.softcap = prm.softcap;
  if (!(prm.dropout_p >= 0.0 && prm.dropout_p < 1.0)) {
    fail(Code::dropout, str("dropout_p must be in [0, 1), got ", prm.dropout_p));
  }
  p.dropout_p = prm.dropout_p;
  p.dropout_seed = prm.dropout_seed;
  p.dropout_offset = prm.dropout_offset;

  if (prm.lse.present()) {
    resolve_lse(prm.lse, p, layout);
    check_storage(prm.lse, "lse", true);
  }
  require_outputs_apart(prm);
  if (prm.flex != nullptr) resolve_flex(*prm.flex, p);
  return p;
}

}  // namespace attend::core
