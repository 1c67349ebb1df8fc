// Owning host buffers for a random attention problem, described by a ProblemSpec. Used by the
// tests, `attend run/check/bench` and the benchmarks: the one way this project makes inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attend/params.hpp"

namespace attend::support {

enum class MaskKind { none, boolean, additive };

// How q, k and v are drawn: standard normal, or one of the shapes real activations take that
// break quantized kernels.
enum class Inputs {
  normal,
  channel_offsets,  // K gets an offset per (head, channel), N(0, 25^2): far beyond its spread
  outlier_tokens,   // 0.1% of the (token, head) rows of q, k and v are multiplied by 100
  outlier_values,   // 0.1% of the values of q, k and v are multiplied by 100
  wide_range,       // q/k rows scaled by 10^U(-3, 0.5) each, v channels by 10^U(-4, 6) each
};
std::string_view name(Inputs inputs);

struct ProblemSpec {
  std::int64_t B = 1, Hq = 1, Hkv = 1, Sq = 1, Sk = 1, D = 64;
  std::int64_t Dv = 0;  // 0: same as D
  DType dtype = DType::f32;
  Layout layout = Layout::BSHD;
  bool causal = false;
  Align align = Align::top_left;
  Window window;
  double softcap = 0.0;
  std::optional<double> scale;
  MaskKind mask = MaskKind::none;
  std::vector<std::int64_t> mask_shape;  // empty: (B, Hq, Sq, Sk); sizes of 1 broadcast
  double mask_keep = 0.8;                // fraction of bool-mask entries that may attend
  bool key_padding = false;  // random key lengths per batch, one batch fully padded if B > 1
  double dropout_p = 0.0;
  bool lse = false;
  std::vector<std::int64_t> seqlens_q, seqlens_k;  // non-empty: varlen THD (B = their count)
  bool strided = false;                            // q/k/v rows padded, so nothing is contiguous
  std::int64_t row_pad = 3;   // strided: elements after each row (3: misaligned; 8: 16-byte rows)
  bool random_inputs = true;  // false: q/k/v are zeros (for explain, which never reads them)
  Inputs inputs = Inputs::normal;
  std::uint64_t seed = 1;

  std::int64_t dv() const { return Dv > 0 ? Dv : D; }
  bool varlen() const { return !seqlens_q.empty(); }
  std::string describe() const;
};

// An output slot: `out` in the problem's dtype and layout, `lse` in fp32.
struct Output {
  std::vector<std::byte> out;
  std::vector<float> lse;
};

// FLOPs of the problem (DESIGN §7), without allocating it.
double flops(const ProblemSpec& spec);

class HostProblem {
 public:
  explicit HostProblem(ProblemSpec spec);

  const ProblemSpec& spec() const { return spec_; }
  // Output buffers poisoned with NaN, so an element a backend forgets to write fails comparisons.
  Output make_output() const;
  // Params over this problem's inputs writing into `o` (which must come from make_output()).
  Params params(Output& o) const;
  // Rows of q/out (total tokens for varlen) and of k/v.
  std::int64_t q_rows() const;
  std::int64_t k_rows() const;
  std::int64_t out_elements() const;
  double flops() const;

 private:
  TensorView qkv_view(const std::byte* buf, std::int64_t rows, std::int64_t heads, std::int64_t dim,
                      std::int64_t row_pad) const;

  ProblemSpec spec_;
  std::vector<std::byte> q_, k_, v_, mask_, key_padding_;
  std::vector<std::int32_t> cu_q_, cu_k_;
};

struct Comparison {
  double rel_l2 = 0.0;  // ||a - ref|| / ||ref||
  double max_abs = 0.0;
  std::int64_t nan = 0;  // elements NaN in a but not in ref (unwritten or broken)
  double lse_max_abs = 0.0;
  std::int64_t lse_mismatch = 0;  // -inf/finite disagreements
  double lse_max_rel = 0.0;       // max |a - ref| / (1 + |ref|) over finite LSE entries
  double cosine = 1.0;            // a·ref / (|a|·|ref|); 1 when either is all zeros and both are
  double rel_l1 = 0.0;            // sum |a - ref| / sum |ref|
};

// Compares a backend's output with the reference's, element by element in fp64.
Comparison compare(const HostProblem& p, const Output& got, const Output& ref);

// Tolerance of DESIGN §7 for a dtype: fp32 1e-5, bf16/fp16 1e-2, fp64 1e-10.
double tolerance(DType t);
// Largest absolute LSE error accepted for a dtype: fp64 1e-8, fp32 1e-4, bf16/fp16 1e-2. LSE is
// accumulated in fp32 whatever the input, so it is held tighter than a low-precision output.
double lse_tolerance(DType t);
// Output within tolerance(), no NaN disagreements, LSE within lse_tolerance().
bool passes(const Comparison& c, DType t);

// What a quantized backend (Capabilities::quantized) is held to instead: cosine similarity and
// relative L1 of the output, and for finite LSE entries |error| <= 0.03·(1 + |LSE|) (a row's
// int8 score error grows with its scores). `lse` false: the output alone.
constexpr double kQuantizedCosine = 0.999;
constexpr double kQuantizedRelL1 = 0.03;
constexpr double kQuantizedLse = 3e-2;
bool passes_quantized(const Comparison& c, bool lse = true);

}  // namespace attend::support
