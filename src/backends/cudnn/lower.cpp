#include <cstdint>

#include "backends/cudnn/lowered.hpp"

namespace attend::cudnn {
namespace {

// 16-byte rows for half-precision tensors: cuDNN's kernels read the bias in 16-byte pieces.
constexpr std::int64_t kRowAlign = 8;

bool bias_readable_in_place(const Problem& p) {
  const MaskRef& m = p.mask;
  if (!m.present() || p.key_padding.present() || m.dtype != p.dtype) return false;
  const auto address = reinterpret_cast<std::uintptr_t>(m.data);
  return m.sk == 1 && m.sq >= p.Sk && m.sq % kRowAlign == 0 && m.sb % kRowAlign == 0 &&
         m.sh % kRowAlign == 0 && address % 16 == 0;
}

Dims tensor_dims(const Problem& p, const TensorRef& t, std::int64_t heads, std::int64_t seq,
                 std::int64_t dim) {
  Dims d;
  d.dim = {p.B, heads, seq, dim};
  // Packed sequences start where their ragged offsets say; the batch stride only has to
  // describe a tensor of B padded sequences.
  d.stride = {p.varlen ? seq * t.ss : t.sb, t.sh, t.ss, t.sd};
  return d;
}

}  // namespace

Lowered lower(const Problem& p) {
  Lowered l;
  l.q = tensor_dims(p, p.q, p.Hq, p.Sq, p.D);
  l.k = tensor_dims(p, p.k, p.Hkv, p.Sk, p.D);
  l.v = tensor_dims(p, p.v, p.Hkv, p.Sk, p.Dv);
  l.o = tensor_dims(p, p.out, p.Hq, p.Sq, p.Dv);
  l.ragged = p.varlen;
  if (p.varlen) l.ragged_bytes = 6 * static_cast<std::size_t>(p.B + 1) * sizeof(std::int32_t);

  l.lse = p.lse.present();
  if (l.lse) {
    l.stats.dim = {p.B, p.Hq, p.Sq, 1};
    l.stats.stride = {p.lse.sb, p.lse.sh, p.lse.sq, 1};
  }

  if (bias_readable_in_place(p)) {
    const MaskRef& m = p.mask;
    l.bias_source = BiasSource::in_place;
    l.bias.dim = {m.sb != 0 ? p.B : 1, m.sh != 0 ? p.Hq : 1, p.Sq, p.Sk};
    l.bias.stride = {m.sb != 0 ? m.sb : m.sq * p.Sq, m.sh != 0 ? m.sh : m.sq * p.Sq, m.sq, 1};
  } else if (p.mask.present() || p.key_padding.present()) {
    // One bias in the workspace, broadcast over batch and heads where the masks are.
    const bool per_batch = p.key_padding.present() || (p.mask.present() && p.mask.sb != 0);
    const bool per_head = p.mask.present() && p.mask.sh != 0;
    const std::int64_t ld = (p.Sk + kRowAlign - 1) / kRowAlign * kRowAlign;
    const std::int64_t heads = per_head ? p.Hq : 1;
    l.bias_source = BiasSource::converted;
    l.bias.dim = {per_batch ? p.B : 1, heads, p.Sq, p.Sk};
    l.bias.stride = {heads * p.Sq * ld, p.Sq * ld, ld, 1};
    l.bias_bytes = static_cast<std::size_t>(l.bias.dim[0] * heads * p.Sq * ld) * 2;
  }

  l.causal = p.causal;
  l.bottom_right = p.align == Align::bottom_right;
  // attend's band keeps keys [i - left, i + right]; cuDNN keeps j > i - left_bound and
  // j <= i + right_bound.
  l.right = p.window_right;
  l.left = p.window_left >= 0 ? p.window_left + 1 : -1;
  l.scale = static_cast<float>(p.scale);
  l.dropout_p = static_cast<float>(p.dropout_p);
  return l;
}

}  // namespace attend::cudnn
