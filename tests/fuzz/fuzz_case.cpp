#include "fuzz_case.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "attend/attend.hpp"
#include "common/elements.hpp"

namespace attend::fuzz {
namespace {

std::string describe_params(const Params& p) {
  std::string s = "layout " + std::to_string(static_cast<int>(p.layout));
  for (const auto* t : {&p.q, &p.k, &p.v, &p.out, &p.attn_mask, &p.key_padding_mask, &p.lse}) {
    std::string strides;
    for (int i = 0; i < t->rank; ++i) strides += (i ? "," : "") + std::to_string(t->strides[i]);
    s += "\n  " + describe(*t) + " strides (" + strides + ")";
  }
  s += "\n  causal " + std::to_string(p.is_causal) + " align " +
       std::to_string(static_cast<int>(p.align)) + " window (" + std::to_string(p.window.left) +
       "," + std::to_string(p.window.right) + ") softcap " + std::to_string(p.softcap) + " scale " +
       (p.scale ? std::to_string(*p.scale) : "default") + " dropout " +
       std::to_string(p.dropout_p) + " gqa " + std::to_string(p.enable_gqa);
  return s;
}

const Params* current = nullptr;  // the problem under test, for the report

[[noreturn]] void violation(const std::string& what) {
  std::fprintf(stderr, "attend fuzz: promise broken: %s\n", what.c_str());
  if (current) std::fprintf(stderr, "problem: %s\n", describe_params(*current).c_str());
  std::abort();
}

// A buffer large enough for every offset a view's shape and (non-negative) strides reach.
struct Buffer {
  std::vector<std::uint64_t> words;  // 8-byte aligned storage
  void* data(std::size_t byte_offset = 0) {
    return reinterpret_cast<std::byte*>(words.data()) + byte_offset;
  }
};

std::int64_t span_of(const TensorView& t) {
  std::int64_t span = 1;
  for (int i = 0; i < t.rank; ++i) {
    if (t.shape[i] == 0) return 0;
    if (t.strides[i] > 0) span += (t.shape[i] - 1) * t.strides[i];
  }
  return span;
}

// Sizes and strides for a q/k/v/out tensor; some stride patterns are invalid on purpose.
TensorView make_view(FuzzedDataProvider& in, bool& valid, bool output, Layout layout, DType dtype,
                     std::int64_t B, std::int64_t S, std::int64_t H, std::int64_t D,
                     bool allow_odd) {
  TensorView t;
  t.dtype = dtype;
  std::int64_t logical[4];
  int rank;
  if (layout == Layout::THD) {
    rank = 3, logical[0] = S, logical[1] = H, logical[2] = D;
  } else if (layout == Layout::BHSD) {
    rank = 4, logical[0] = B, logical[1] = H, logical[2] = S, logical[3] = D;
  } else {
    rank = 4, logical[0] = B, logical[1] = S, logical[2] = H, logical[3] = D;
  }
  t.rank = rank;
  const int pattern = in.ConsumeIntegralInRange(0, allow_odd ? 5 : 2);
  std::int64_t stride = 1;
  for (int i = rank - 1; i >= 0; --i) {
    t.shape[i] = logical[i];
    t.strides[i] = stride;
    const std::int64_t pad = pattern == 1 ? in.ConsumeIntegralInRange(0, 3) : 0;
    stride *= std::max<std::int64_t>(logical[i], 1) + (i > 0 && i == rank - 1 ? pad : 0);
  }
  // Permuted, broadcast (zero) strides are fine to read but make an output alias itself.
  if (output && pattern >= 2) valid = false;
  if (pattern >= 4) valid = false;
  if (pattern == 2 && rank >= 3) std::swap(t.strides[0], t.strides[1]);  // permuted storage
  if (pattern == 3)
    t.strides[in.ConsumeIntegralInRange(0, rank - 1)] = 0;  // broadcast (bad for out)
  if (pattern == 4) t.strides[in.ConsumeIntegralInRange(0, rank - 1)] *= -1;  // invalid
  if (pattern == 5 && in.ConsumeBool())
    t.shape[in.ConsumeIntegralInRange(0, rank - 1)] += 1;  // mismatch
  return t;
}

void fill(FuzzedDataProvider& in, TensorView& t, Buffer& buf, bool poison) {
  const std::int64_t span = span_of(t);
  const std::size_t bytes =
      static_cast<std::size_t>(std::max<std::int64_t>(span, 0)) * size_of(t.dtype);
  buf.words.assign(bytes / 8 + 2, 0);
  t.data = buf.data();
  const std::uint32_t seed = in.ConsumeIntegral<std::uint32_t>();
  for (std::int64_t i = 0; i < span; ++i) {
    const double x =
        std::sin(static_cast<double>(seed % 1000) * 0.001 + 0.37 * static_cast<double>(i)) * 2.0;
    common::store_element(t.data, t.dtype, i,
                          poison ? std::numeric_limits<double>::quiet_NaN() : x);
  }
}

bool all_finite(const TensorView& t) {
  const std::int64_t span = span_of(t);
  for (std::int64_t i = 0; i < span; ++i) {
    if (!std::isfinite(common::load_element(t.data, t.dtype, i))) return false;
  }
  return true;
}

}  // namespace

void run_case(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  static constexpr DType kDtypes[] = {DType::f32, DType::bf16, DType::f16, DType::f64, DType::i32};
  static constexpr const char* kBackends[] = {"auto", "math", "cpu_flash", "_native_math", "bogus"};
  // `valid` stays true while every choice made so far is a legal input: such a problem must run
  // on `math` and `auto`, never be refused.
  bool valid = true;
  const DType dtype = kDtypes[in.ConsumeIntegralInRange(0, 4)];
  valid &= dtype != DType::i32;
  const Layout layout = static_cast<Layout>(in.ConsumeIntegralInRange(0, 2));
  const std::int64_t B = in.ConsumeIntegralInRange(0, 3);
  const std::int64_t Hkv = in.ConsumeIntegralInRange(1, 3);
  const std::int64_t Hq =
      Hkv * in.ConsumeIntegralInRange(1, 3) + (in.ConsumeIntegralInRange(0, 9) == 0 ? 1 : 0);
  std::int64_t Sq = in.ConsumeIntegralInRange(0, 40), Sk = in.ConsumeIntegralInRange(0, 40);
  const std::int64_t D = in.ConsumeIntegralInRange(0, 70);
  valid &= D > 0 && Hq % Hkv == 0;
  const std::int64_t Dv = in.ConsumeBool() ? D : in.ConsumeIntegralInRange(1, 70);

  Params p;
  p.layout = layout;
  std::vector<std::int32_t> cu_q, cu_k;
  if (layout == Layout::THD) {
    cu_q.push_back(0), cu_k.push_back(0);
    for (std::int64_t b = 0; b < B; ++b) {
      cu_q.push_back(cu_q.back() + in.ConsumeIntegralInRange(0, 12));
      cu_k.push_back(cu_k.back() + in.ConsumeIntegralInRange(0, 12));
    }
    Sq = cu_q.back(), Sk = cu_k.back();
    if (in.ConsumeIntegralInRange(0, 15) == 0 && cu_q.size() > 1) {
      cu_q[1] = cu_q.back() + 3;  // corrupt: beyond the packed tensor
      valid = false;
    }  // corrupt
    p.cu_seqlens_q = view(cu_q.data(), i32, cpu, {static_cast<std::int64_t>(cu_q.size())});
    p.cu_seqlens_k = view(cu_k.data(), i32, cpu, {static_cast<std::int64_t>(cu_k.size())});
  }
  p.q = make_view(in, valid, false, layout, dtype, B, Sq, Hq, D, true);
  p.k = make_view(in, valid, false, layout, dtype, B, Sk, Hkv, D, true);
  p.v = make_view(in, valid, false, layout, dtype, B, Sk, Hkv, Dv, true);
  p.out = make_view(in, valid, true, layout, dtype, B, Sq, Hq, Dv,
                    in.ConsumeIntegralInRange(0, 7) == 0);
  Buffer q, k, v, out, ref, mask_buf, pad_buf, lse_buf, lse_ref;
  fill(in, p.q, q, false);
  fill(in, p.k, k, false);
  fill(in, p.v, v, false);
  if (in.ConsumeIntegralInRange(0, 30) == 0) {  // an Inf or NaN somewhere in q
    const std::int64_t span = span_of(p.q);
    if (span > 0) {
      common::store_element(
          p.q.data, dtype, in.ConsumeIntegralInRange<std::int64_t>(0, span - 1),
          in.ConsumeBool() ? std::numeric_limits<double>::infinity() : std::nan(""));
    }
  }
  fill(in, p.out, out, true);

  if (layout != Layout::THD && in.ConsumeIntegralInRange(0, 2) == 0) {
    const int rank = in.ConsumeIntegralInRange(2, 4);
    const std::int64_t full[4] = {B, Hq, Sq, Sk};
    std::vector<std::int64_t> shape;
    for (int i = 4 - rank; i < 4; ++i) {
      const int dim = (rank == 3 && i == 1) ? 0 : i;  // (B, Sq, Sk) for rank 3
      const std::int64_t size =
          in.ConsumeBool() ? 1 : full[dim] + (in.ConsumeIntegralInRange(0, 20) == 0 ? 1 : 0);
      valid &= size == 1 || size == full[dim];
      shape.push_back(size);
    }
    const bool boolean_mask = in.ConsumeBool();
    TensorView m;
    m.dtype = boolean_mask ? DType::boolean : dtype;
    m.rank = rank;
    std::int64_t stride = 1;
    for (int i = rank - 1; i >= 0; --i)
      m.shape[i] = shape[i], m.strides[i] = stride, stride *= std::max<std::int64_t>(shape[i], 1);
    fill(in, m, mask_buf, false);
    if (boolean_mask) {
      const std::int64_t span = span_of(m);
      for (std::int64_t i = 0; i < span; ++i)
        static_cast<std::uint8_t*>(m.data)[i] = in.ConsumeIntegralInRange(0, 3) != 0;
    }
    p.attn_mask = m;
  }
  if (layout != Layout::THD && in.ConsumeIntegralInRange(0, 3) == 0) {
    TensorView kp;
    kp.dtype = DType::boolean;
    kp.rank = 2;
    kp.shape[0] = B, kp.shape[1] = Sk, kp.strides[0] = Sk, kp.strides[1] = 1;
    fill(in, kp, pad_buf, false);
    for (std::int64_t i = 0; i < span_of(kp); ++i)
      static_cast<std::uint8_t*>(kp.data)[i] = in.ConsumeBool();
    p.key_padding_mask = kp;
  }
  p.is_causal = in.ConsumeBool();
  p.align = static_cast<Align>(
      in.ConsumeIntegralInRange(0, 20) == 0 ? 2 : in.ConsumeIntegralInRange(0, 1));
  if (in.ConsumeBool())
    p.window = {in.ConsumeIntegralInRange(-2, 10), in.ConsumeIntegralInRange(-2, 10)};
  if (in.ConsumeIntegralInRange(0, 15) == 0) {
    p.window.right = std::numeric_limits<std::int64_t>::max() - in.ConsumeIntegralInRange(0, 3);
  }
  valid &= p.align == Align::top_left || p.align == Align::bottom_right;
  valid &= p.window.left >= -1 && p.window.right >= -1;
  if (in.ConsumeBool()) p.softcap = in.ConsumeFloatingPointInRange(-1.0, 10.0);
  valid &= p.softcap >= 0;
  const int scale_kind = in.ConsumeIntegralInRange(0, 6);
  if (scale_kind == 1) p.scale = in.ConsumeFloatingPointInRange(-2.0, 2.0);
  if (scale_kind == 2) p.scale = std::nan(""), valid = false;
  p.enable_gqa = in.ConsumeIntegralInRange(0, 5) != 0;
  valid &= p.enable_gqa || Hq == Hkv;
  if (in.ConsumeIntegralInRange(0, 4) == 0) p.dropout_p = in.ConsumeFloatingPointInRange(0.0, 1.0);
  valid &= p.dropout_p < 1.0;
  p.dropout_seed = in.ConsumeIntegral<std::uint64_t>();
  const bool want_lse = in.ConsumeBool();
  if (want_lse) {
    p.lse = layout == Layout::THD ? view(nullptr, f32, cpu, {Hq, Sq})
                                  : view(nullptr, f32, cpu, {B, Hq, Sq});
    fill(in, p.lse, lse_buf, true);
  }
  const char* backend = kBackends[in.ConsumeIntegralInRange(0, 4)];

  current = &p;
  const bool must_run =
      valid && std::string(backend) != "bogus" && std::string(backend) != "cpu_flash";
  try {
    attention(p, backend);
  } catch (const Error& e) {
    // A refusal with a reason is the promise for input that cannot run; for valid input the
    // reference (and auto, which can always fall back to it) must run.
    if (must_run) violation(std::string("'") + backend + "' refused a valid problem: " + e.what());
    return;
  }
  // It ran: it must agree with the reference on the same input.
  Params r = p;
  fill(in, r.out, ref, true);
  if (want_lse) fill(in, r.lse, lse_ref, true);
  try {
    attention(r, "math");
  } catch (const Error& e) {
    violation(std::string("math refused what '") + backend + "' ran: " + e.what());
  }
  if (!all_finite(p.q) || !all_finite(p.k) || !all_finite(p.v))
    return;  // NaN/Inf propagation may differ by row
  // Ten times the conformance tolerances: fuzzed inputs are built to cancel (broadcast keys,
  // sinusoids, masks), and an output ten times smaller than its inputs carries their rounding.
  const double tol = dtype == DType::f32 ? 1e-4 : (dtype == DType::f64 ? 1e-9 : 5e-2);
  double diff = 0, norm = 0;
  const std::int64_t span = span_of(p.out);
  for (std::int64_t i = 0; i < span; ++i) {
    const double a = common::load_element(p.out.data, dtype, i),
                 b = common::load_element(r.out.data, dtype, i);
    if (std::isnan(a) != std::isnan(b))
      violation(std::string(backend) + ": NaN where the reference has none (or the reverse)");
    if (!std::isnan(b)) diff += (a - b) * (a - b), norm += b * b;
  }
  const double rel = norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
  if (rel > tol) {
    std::string detail;
    for (std::int64_t i = 0; i < span && i < 64; ++i) {
      detail += std::to_string(common::load_element(p.out.data, dtype, i)) + "/" +
                std::to_string(common::load_element(r.out.data, dtype, i)) + " ";
    }
    violation(std::string(backend) + ": relative error " + std::to_string(rel) +
              " (got/ref: " + detail + ")");
  }
  if (!want_lse) return;
  for (std::int64_t i = 0; i < span_of(p.lse); ++i) {
    const double a = static_cast<float*>(p.lse.data)[i], b = static_cast<float*>(r.lse.data)[i];
    const bool same_kind = std::isfinite(a) == std::isfinite(b) &&
                           (std::isfinite(b) || a == b || (std::isnan(a) && std::isnan(b)));
    if (!same_kind || (std::isfinite(b) && std::abs(a - b) > 10 * tol * (1 + std::abs(b)))) {
      violation(std::string(backend) + ": LSE " + std::to_string(a) + " vs reference " +
                std::to_string(b));
    }
  }
}

}  // namespace attend::fuzz
