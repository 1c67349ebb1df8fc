// Random problems in host memory: inputs drawn from a seeded normal distribution and rounded to
// the problem's dtype, masks and key padding with fully masked rows on purpose, outputs poisoned.
#include "support/host_problem.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "common/elements.hpp"

namespace attend::support {
namespace {

std::int64_t bytes_of(std::int64_t elements, DType t) {
  return elements * static_cast<std::int64_t>(size_of(t));
}

// Element offset of logical (b, s, h, d) in a q/k/v/out view of the given layout.
std::int64_t offset_of(const TensorView& t, Layout layout, std::int64_t b, std::int64_t s,
                       std::int64_t h, std::int64_t d) {
  switch (layout) {
    case Layout::BSHD:
      return b * t.strides[0] + s * t.strides[1] + h * t.strides[2] + d * t.strides[3];
    case Layout::BHSD:
      return b * t.strides[0] + h * t.strides[1] + s * t.strides[2] + d * t.strides[3];
    case Layout::THD:
      return s * t.strides[0] + h * t.strides[1] + d * t.strides[2];
  }
  return 0;
}

enum class Role { q, k, v };

// Draws values in logical (b, s, h, d) order, so that the same seed gives the same numbers in
// every layout and stride pattern, and stores them where the view says. `random` false: zeros.
// `inputs` shapes the standard normal draws (see Inputs).
void fill_inputs(std::vector<std::byte>& buf, const TensorView& t, Layout layout,
                 std::mt19937_64& rng, bool random, Inputs inputs, Role role) {
  std::int64_t span = 1;
  for (int i = 0; i < t.rank; ++i) span += (t.shape[i] - 1) * t.strides[i];
  buf.assign(static_cast<std::size_t>(bytes_of(std::max<std::int64_t>(span, 0), t.dtype)),
             std::byte{0});
  if (!random) return;
  const bool thd = layout == Layout::THD;
  const std::int64_t B = thd ? 1 : t.shape[0];
  const std::int64_t S = thd ? t.shape[0] : (layout == Layout::BSHD ? t.shape[1] : t.shape[2]);
  const std::int64_t H = thd ? t.shape[1] : (layout == Layout::BSHD ? t.shape[2] : t.shape[1]);
  const std::int64_t D = t.shape[t.rank - 1];
  std::normal_distribution<double> dist(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  // Per (head, channel): K's offsets or V's channel scales, drawn first.
  std::vector<double> per_channel;
  if ((inputs == Inputs::channel_offsets && role == Role::k) ||
      (inputs == Inputs::wide_range && role == Role::v)) {
    per_channel.resize(static_cast<std::size_t>(H * D));
    for (double& c : per_channel) {
      c = inputs == Inputs::channel_offsets ? 25.0 * dist(rng)
                                            : std::pow(10.0, -4.0 + 10.0 * unit(rng));
    }
  }
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t s = 0; s < S; ++s)
      for (std::int64_t h = 0; h < H; ++h) {
        double row_scale = 1.0;
        if (inputs == Inputs::wide_range && role != Role::v) {
          row_scale = std::pow(10.0, -3.0 + 3.5 * unit(rng));
        } else if (inputs == Inputs::outlier_tokens && unit(rng) < 1e-3) {
          row_scale = 100.0;
        }
        for (std::int64_t d = 0; d < D; ++d) {
          double x = dist(rng) * row_scale;
          if (!per_channel.empty()) {
            const double c = per_channel[static_cast<std::size_t>(h * D + d)];
            x = inputs == Inputs::channel_offsets ? x + c : x * c;
          }
          if (inputs == Inputs::outlier_values && unit(rng) < 1e-3) x *= 100.0;
          common::store_element(buf.data(), t.dtype, offset_of(t, layout, b, s, h, d), x);
        }
      }
}

}  // namespace

std::string ProblemSpec::describe() const {
  std::ostringstream os;
  os << name(dtype) << " B" << B << " Hq" << Hq << " Hkv" << Hkv << " Sq" << Sq << " Sk" << Sk
     << " D" << D;
  if (dv() != D) os << " Dv" << dv();
  if (layout == Layout::BHSD) os << " BHSD";
  if (varlen()) {
    os << " varlen[";
    for (std::size_t i = 0; i < seqlens_q.size(); ++i) {
      os << (i ? "," : "") << seqlens_q[i] << "/" << seqlens_k[i];
    }
    os << "]";
  }
  if (causal) os << " causal-" << (align == Align::top_left ? "tl" : "br");
  if (window.active()) os << " window(" << window.left << "," << window.right << ")";
  if (softcap > 0) os << " softcap" << softcap;
  if (mask != MaskKind::none) {
    os << (mask == MaskKind::boolean ? " bool-mask(" : " add-mask(");
    for (std::size_t i = 0; i < mask_shape.size(); ++i) os << (i ? "," : "") << mask_shape[i];
    os << ")";
  }
  if (key_padding) os << " key-padding";
  if (dropout_p > 0) os << " dropout" << dropout_p;
  if (lse) os << " lse";
  if (strided) os << " strided";
  if (strided && row_pad != 3) os << "(pad " << row_pad << ")";
  if (inputs != Inputs::normal) os << " inputs:" << name(inputs);
  return os.str();
}

std::string_view name(Inputs inputs) {
  switch (inputs) {
    case Inputs::normal:
      return "normal";
    case Inputs::channel_offsets:
      return "channel-offsets";
    case Inputs::outlier_tokens:
      return "outlier-tokens";
    case Inputs::outlier_values:
      return "outlier-values";
    case Inputs::wide_range:
      return "wide-range";
  }
  return "?";
}

HostProblem::HostProblem(ProblemSpec spec) : spec_(std::move(spec)) {
  ProblemSpec& s = spec_;
  if (s.varlen()) {
    s.layout = Layout::THD;
    s.B = static_cast<std::int64_t>(s.seqlens_q.size());
    cu_q_.assign(1, 0);
    cu_k_.assign(1, 0);
    for (std::size_t i = 0; i < s.seqlens_q.size(); ++i) {
      cu_q_.push_back(cu_q_.back() + static_cast<std::int32_t>(s.seqlens_q[i]));
      cu_k_.push_back(cu_k_.back() + static_cast<std::int32_t>(s.seqlens_k[i]));
    }
    s.Sq = *std::max_element(s.seqlens_q.begin(), s.seqlens_q.end());
    s.Sk = *std::max_element(s.seqlens_k.begin(), s.seqlens_k.end());
  }
  std::mt19937_64 rng(s.seed);
  const std::int64_t pad = s.strided ? s.row_pad : 0;
  fill_inputs(q_, qkv_view(nullptr, q_rows(), s.Hq, s.D, pad), s.layout, rng, s.random_inputs,
              s.inputs, Role::q);
  fill_inputs(k_, qkv_view(nullptr, k_rows(), s.Hkv, s.D, pad), s.layout, rng, s.random_inputs,
              s.inputs, Role::k);
  fill_inputs(v_, qkv_view(nullptr, k_rows(), s.Hkv, s.dv(), pad), s.layout, rng, s.random_inputs,
              s.inputs, Role::v);

  if (s.mask != MaskKind::none) {
    if (s.mask_shape.empty()) s.mask_shape = {s.B, s.Hq, s.Sq, s.Sk};
    const std::int64_t n = std::accumulate(s.mask_shape.begin(), s.mask_shape.end(),
                                           std::int64_t{1}, std::multiplies<>());
    std::uniform_real_distribution<double> u(0.0, 1.0);
    if (s.mask == MaskKind::boolean) {
      mask_.resize(static_cast<std::size_t>(n));
      for (auto& m : mask_) m = std::byte{u(rng) < s.mask_keep ? std::uint8_t{1} : std::uint8_t{0}};
    } else {
      const DType mt = s.dtype;
      mask_.resize(static_cast<std::size_t>(bytes_of(n, mt)));
      std::normal_distribution<double> dist(0.0, 1.0);
      for (std::int64_t i = 0; i < n; ++i) {
        const double x = u(rng) < 0.1 ? -std::numeric_limits<double>::infinity() : dist(rng);
        common::store_element(mask_.data(), mt, i, x);
      }
    }
  }
  if (s.key_padding) {
    key_padding_.assign(static_cast<std::size_t>(s.B * s.Sk), std::byte{0});
    std::uniform_int_distribution<std::int64_t> len(0, s.Sk);
    for (std::int64_t b = 0; b < s.B; ++b) {
      const std::int64_t keep = (b == 1) ? 0 : len(rng);  // batch 1 is fully padded
      for (std::int64_t j = 0; j < keep; ++j) key_padding_[b * s.Sk + j] = std::byte{1};
    }
  }
}

std::int64_t HostProblem::q_rows() const {
  return spec_.varlen() ? cu_q_.back() : spec_.Sq;
}
std::int64_t HostProblem::k_rows() const {
  return spec_.varlen() ? cu_k_.back() : spec_.Sk;
}

std::int64_t HostProblem::out_elements() const {
  return (spec_.varlen() ? 1 : spec_.B) * q_rows() * spec_.Hq * spec_.dv();
}

double flops(const ProblemSpec& s) {
  double pairs = 0;
  if (s.varlen()) {
    for (std::size_t i = 0; i < s.seqlens_q.size(); ++i) {
      pairs += static_cast<double>(s.seqlens_q[i]) * static_cast<double>(s.seqlens_k[i]);
    }
  } else {
    pairs = static_cast<double>(s.B) * static_cast<double>(s.Sq) * static_cast<double>(s.Sk);
  }
  const double f = 2.0 * pairs * static_cast<double>(s.Hq) * static_cast<double>(s.D + s.dv());
  return s.causal ? f / 2 : f;
}

double HostProblem::flops() const {
  return support::flops(spec_);
}

TensorView HostProblem::qkv_view(const std::byte* buf, std::int64_t rows, std::int64_t heads,
                                 std::int64_t dim, std::int64_t pad) const {
  void* data = const_cast<std::byte*>(buf);
  const DType t = spec_.dtype;
  switch (spec_.layout) {
    case Layout::BSHD: {
      const std::int64_t row = heads * dim + pad;
      return view(data, t, cpu, {spec_.B, rows, heads, dim}, {rows * row, row, dim, 1});
    }
    case Layout::BHSD: {
      const std::int64_t row = dim + pad;
      return view(data, t, cpu, {spec_.B, heads, rows, dim},
                  {heads * rows * row, rows * row, row, 1});
    }
    case Layout::THD: {
      const std::int64_t row = heads * dim + pad;
      return view(data, t, cpu, {rows, heads, dim}, {row, dim, 1});
    }
  }
  return {};
}

Output HostProblem::make_output() const {
  Output o;
  const std::int64_t n = out_elements();
  o.out.resize(static_cast<std::size_t>(bytes_of(n, spec_.dtype)));
  for (std::int64_t i = 0; i < n; ++i) {
    common::store_element(o.out.data(), spec_.dtype, i, std::numeric_limits<double>::quiet_NaN());
  }
  if (spec_.lse) {
    o.lse.assign(static_cast<std::size_t>((spec_.varlen() ? 1 : spec_.B) * spec_.Hq * q_rows()),
                 std::numeric_limits<float>::quiet_NaN());
  }
  return o;
}

Params HostProblem::params(Output& o) const {
  const ProblemSpec& s = spec_;
  const std::int64_t pad = s.strided ? s.row_pad : 0;
  Params p;
  p.layout = s.layout;
  p.q = qkv_view(q_.data(), q_rows(), s.Hq, s.D, pad);
  p.k = qkv_view(k_.data(), k_rows(), s.Hkv, s.D, pad);
  p.v = qkv_view(v_.data(), k_rows(), s.Hkv, s.dv(), pad);
  p.out = qkv_view(o.out.data(), q_rows(), s.Hq, s.dv(), 0);
  p.is_causal = s.causal;
  p.align = s.align;
  p.window = s.window;
  p.softcap = s.softcap;
  p.scale = s.scale;
  p.enable_gqa = s.Hq != s.Hkv;
  p.dropout_p = s.dropout_p;
  p.dropout_seed = s.seed * 7919 + 17;
  p.dropout_offset = 3;
  if (s.mask != MaskKind::none) {
    TensorView m;
    m.data = const_cast<std::byte*>(mask_.data());
    m.dtype = s.mask == MaskKind::boolean ? DType::boolean : s.dtype;
    m.rank = static_cast<int>(s.mask_shape.size());
    std::int64_t stride = 1;
    for (int i = m.rank - 1; i >= 0; --i) {
      m.shape[i] = s.mask_shape[i];
      m.strides[i] = stride;
      stride *= s.mask_shape[i];
    }
    p.attn_mask = m;
  }
  if (s.key_padding) {
    p.key_padding_mask =
        view(const_cast<std::byte*>(key_padding_.data()), DType::boolean, cpu, {s.B, s.Sk});
  }
  if (s.lse) {
    p.lse = s.varlen() ? view(o.lse.data(), DType::f32, cpu, {s.Hq, q_rows()})
                       : view(o.lse.data(), DType::f32, cpu, {s.B, s.Hq, s.Sq});
  }
  if (s.varlen()) {
    const auto n = static_cast<std::int64_t>(cu_q_.size());
    p.cu_seqlens_q = view(const_cast<std::int32_t*>(cu_q_.data()), DType::i32, cpu, {n});
    p.cu_seqlens_k = view(const_cast<std::int32_t*>(cu_k_.data()), DType::i32, cpu, {n});
    p.max_seqlen_q = s.Sq;
    p.max_seqlen_k = s.Sk;
  }
  return p;
}

Comparison compare(const HostProblem& p, const Output& got, const Output& ref) {
  Comparison c;
  const DType t = p.spec().dtype;
  double diff2 = 0.0, ref2 = 0.0, got2 = 0.0, dot = 0.0, diff1 = 0.0, ref1 = 0.0;
  for (std::int64_t i = 0; i < p.out_elements(); ++i) {
    const double a = common::load_element(got.out.data(), t, i);
    const double r = common::load_element(ref.out.data(), t, i);
    if (std::isnan(a) != std::isnan(r)) {
      ++c.nan;
      continue;
    }
    if (std::isnan(r)) continue;
    diff2 += (a - r) * (a - r);
    ref2 += r * r;
    got2 += a * a;
    dot += a * r;
    diff1 += std::abs(a - r);
    ref1 += std::abs(r);
    c.max_abs = std::max(c.max_abs, std::abs(a - r));
  }
  c.rel_l2 = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  c.cosine = ref2 > 0 && got2 > 0 ? dot / std::sqrt(ref2 * got2) : (ref2 == got2 ? 1.0 : 0.0);
  c.rel_l1 = ref1 > 0 ? diff1 / ref1 : diff1;
  for (std::size_t i = 0; i < ref.lse.size() && i < got.lse.size(); ++i) {
    const double a = got.lse[i], r = ref.lse[i];
    const bool a_fin = std::isfinite(a), r_fin = std::isfinite(r);
    const bool both_nan = std::isnan(a) && std::isnan(r);
    if (a_fin != r_fin || (!a_fin && !(a == r) && !both_nan)) {
      ++c.lse_mismatch;
      continue;
    }
    if (a_fin) {
      c.lse_max_abs = std::max(c.lse_max_abs, std::abs(a - r));
      c.lse_max_rel = std::max(c.lse_max_rel, std::abs(a - r) / (1.0 + std::abs(r)));
    }
  }
  return c;
}

double tolerance(DType t) {
  switch (t) {
    case DType::f64:
      return 1e-10;
    case DType::f32:
      return 1e-5;
    default:
      return 1e-2;
  }
}

double lse_tolerance(DType t) {
  switch (t) {
    case DType::f64:
      return 1e-8;
    case DType::f32:
      return 1e-4;
    default:
      return 1e-2;
  }
}

bool passes(const Comparison& c, DType t) {
  return c.nan == 0 && c.rel_l2 <= tolerance(t) && c.lse_mismatch == 0 &&
         c.lse_max_abs <= lse_tolerance(t);
}

bool passes_quantized(const Comparison& c, bool lse) {
  return c.nan == 0 && c.cosine >= kQuantizedCosine && c.rel_l1 <= kQuantizedRelL1 &&
         (!lse || (c.lse_mismatch == 0 && c.lse_max_rel <= kQuantizedLse));
}

}  // namespace attend::support
