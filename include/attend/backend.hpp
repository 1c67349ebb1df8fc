// What a backend is: an id, a family, its capabilities as data, an availability score on this
// machine, and a run function. The dispatcher checks capabilities generically (the same code for
// `explain` and `attention`), then asks the backend for any checks that data cannot express.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "attend/error.hpp"
#include "attend/params.hpp"
#include "attend/tensor.hpp"

namespace attend {

struct Capabilities {
  DeviceKind device = DeviceKind::cpu;
  int min_sm = 0;                 // CUDA compute capability as major*10+minor; 0 = any
  int max_sm = 0;                 // 0 = no upper bound
  std::vector<DType> dtypes;      // q/k/v element types
  std::vector<Layout> layouts;    // accepted layouts (THD implies varlen)
  std::int64_t head_dim_min = 1;  // for D and Dv
  std::int64_t head_dim_max = 0;  // 0 = unbounded
  std::int64_t head_dim_multiple = 1;
  bool different_v_head_dim = false;  // Dv != D
  bool bool_mask = false;
  bool additive_mask = false;
  std::vector<DType> mask_dtypes;  // additive mask element types; empty = any floating type
  bool key_padding_mask = false;
  bool mask_with_causal = false;  // attn_mask together with is_causal
  bool causal_top_left = false;
  bool causal_bottom_right = false;
  bool window = false;
  bool softcap = false;
  bool gqa = false;
  bool dropout = false;
  // Dropout keeps the weights attend's Philox stream keeps for a seed and offset (as math and
  // cuda_math do); false: the backend draws from a stream of its own.
  bool dropout_attend_stream = true;
  bool lse = false;
  bool deterministic = true;
  bool backward = false;
  bool any_strides = true;      // false: the last (head-dim) stride must be 1
  int alignment_bytes = 0;      // required alignment of q/k/v/out data and row strides; 0 = element
  bool flex_source = false;     // runs a FlexSpec's score_mod / mask_mod device source
  bool flex_callables = false;  // runs a FlexSpec's score_fn / mask_fn callables
  // Quantizes Q and K (and V) inside, to int8 or fp8: its results are held to cosine similarity
  // >= 0.999 and relative L1 <= 0.03 against exact attention, not to the dtype's rounding.
  // `auto` never trades accuracy away: such a backend runs only when asked for by name.
  bool quantized = false;
};

// Availability on this machine: score 0 means it cannot run here, and `reason` says why.
// Among backends that pass a problem, `auto` takes the highest score.
struct Availability {
  int score = 0;
  std::string reason;
};

// The resolved problem a backend checks and runs (see src/core/problem.hpp); opaque here.
struct Problem;

// Collects reasons and notes. `detailed()` is false on the hot path: a backend may then stop at
// the first refusal and skip building strings.
class ReasonSink {
 public:
  explicit ReasonSink(bool detailed) : detailed_(detailed) {}
  bool detailed() const noexcept { return detailed_; }
  bool refused() const noexcept { return refused_; }
  void refuse(Code code, std::string_view what, std::string expected, std::string got);
  void note(std::string text);
  std::vector<Reason> take_reasons() { return std::move(reasons_); }
  std::vector<std::string> take_notes() { return std::move(notes_); }

 private:
  bool detailed_;
  bool refused_ = false;
  std::vector<Reason> reasons_;
  std::vector<std::string> notes_;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view id() const noexcept = 0;
  virtual std::string_view family() const noexcept = 0;
  virtual std::string_view description() const noexcept = 0;
  // Names the same backend answers to in diffusers (e.g. "_native_math").
  virtual std::vector<std::string> aliases() const { return {}; }
  // Where it comes from: "built-in", or the file of a run-time plugin.
  virtual std::string origin() const { return "built-in"; }
  virtual const Capabilities& capabilities() const noexcept = 0;
  virtual Availability availability() const = 0;
  // Checks beyond the capability data (e.g. a kernel's own limits). Default: none.
  virtual void check(const Problem& problem, ReasonSink& sink) const;
  // Runs a problem that passed every check.
  virtual void run(const Problem& problem) const = 0;
};

}  // namespace attend
