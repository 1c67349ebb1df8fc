// attend._attend: thin bindings over the C++ API. The user-facing functions live in
// python/attend/ (allocation in the caller's array library, its current stream, the scope held
// in a context variable); everything that decides or computes is the C++ library's.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "arrays.hpp"
#include "attend/attend.hpp"
#include "errors.hpp"
#include "flex.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace attend::python {
namespace {

// One attention call: the Params, the backend asked for, the Python scope (if one is active), and
// the arrays the views point into, kept alive as long as the call.
class Call {
 public:
  Call(std::optional<std::string> backend, std::optional<std::string> scope, InputArg q, InputArg k,
       InputArg v, OutputArg out, std::optional<InputArg> attn_mask,
       std::optional<InputArg> key_padding_mask, std::optional<OutputArg> lse,
       std::optional<InputArg> cu_seqlens_q, std::optional<InputArg> cu_seqlens_k, int layout,
       bool is_causal, int align, std::int64_t window_left, std::int64_t window_right,
       std::optional<double> scale, double softcap, bool enable_gqa, double dropout_p,
       std::uint64_t dropout_seed, std::uint64_t dropout_offset, std::int64_t max_seqlen_q,
       std::int64_t max_seqlen_k, std::uintptr_t stream, nb::object flex)
      : backend_(std::move(backend)),
        scope_(std::move(scope)),
        arrays_{std::move(q), std::move(k), std::move(v)},
        out_(std::move(out)),
        optional_inputs_{std::move(attn_mask), std::move(key_padding_mask), std::move(cu_seqlens_q),
                         std::move(cu_seqlens_k)},
        lse_(std::move(lse)),
        flex_(std::move(flex)) {
    if (layout < 0 || layout > static_cast<int>(Layout::THD)) {
      throw Error(Code::layout, "attend: unknown layout value " + std::to_string(layout));
    }
    Params& p = params_;
    p.q = to_view(arrays_[0], "q");
    p.k = to_view(arrays_[1], "k");
    p.v = to_view(arrays_[2], "v");
    p.out = to_view(out_, "out");
    p.layout = static_cast<Layout>(layout);
    const auto optional_view = [](const std::optional<InputArg>& a, const char* role) {
      return a ? to_view(*a, role) : TensorView{};
    };
    p.attn_mask = optional_view(optional_inputs_[0], "attn_mask");
    p.key_padding_mask = optional_view(optional_inputs_[1], "key_padding_mask");
    p.cu_seqlens_q = optional_view(optional_inputs_[2], "cu_seqlens_q");
    p.cu_seqlens_k = optional_view(optional_inputs_[3], "cu_seqlens_k");
    if (lse_) p.lse = to_view(*lse_, "lse");
    p.is_causal = is_causal;
    p.align = static_cast<Align>(align);  // checked by the library like any value
    p.window = {window_left, window_right};
    p.scale = scale;
    p.softcap = softcap;
    p.enable_gqa = enable_gqa;
    p.dropout_p = dropout_p;
    p.dropout_seed = dropout_seed;
    p.dropout_offset = dropout_offset;
    p.max_seqlen_q = max_seqlen_q;
    p.max_seqlen_k = max_seqlen_k;
    p.stream = reinterpret_cast<void*>(stream);
    if (!flex_.is_none()) p.flex = &nb::cast<const Flex&>(flex_).spec();
  }

  // Runs with: the explicit backend > the Python scope > C++ scopes > the process default. The
  // Python layer passes a scope only when no backend is named.
  void run() const {
    std::optional<BackendScope> scope;  // the Python scope, for this call only
    if (scope_) scope.emplace(*scope_);
    backend_ ? attention(params_, *backend_) : attention(params_);
  }

  Explanation explain() const {
    std::optional<BackendScope> scope;
    if (scope_) scope.emplace(*scope_);
    return backend_ ? attend::explain(params_, *backend_) : attend::explain(params_);
  }

  BlockMask block_mask() const { return build_block_mask(params_); }

  // Mean seconds per run() over `iterations` back-to-back calls, all in C++: the baseline the
  // Python overhead benchmark subtracts.
  double time_native(int iterations) const {
    if (iterations < 1) throw Error(Code::usage, "attend: iterations must be >= 1");
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) run();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    return elapsed.count() / iterations;
  }

 private:
  Params params_;
  std::optional<std::string> backend_;
  std::optional<std::string> scope_;
  InputArg arrays_[3];
  OutputArg out_;
  std::optional<InputArg> optional_inputs_[4];
  std::optional<OutputArg> lse_;
  nb::object flex_;  // None, or the attend._attend.FlexSpec params_.flex points into
};

nb::dict explanation_dict(const Explanation& ex) {
  nb::dict d;
  d["requested"] = ex.requested;
  d["source"] = std::string(source_name(ex.source));
  d["chosen"] = ex.chosen;
  d["verdicts"] = verdict_list(ex.verdicts);
  d["table"] = format_verdicts(ex.verdicts);
  return d;
}

nb::list dtype_names(const std::vector<DType>& dtypes) {
  nb::list out;
  for (DType t : dtypes) out.append(std::string(name(t)));
  return out;
}

nb::dict capabilities_dict(const Capabilities& c) {
  static constexpr const char* kLayouts[] = {"BSHD", "BHSD", "THD"};
  nb::list layouts;
  for (Layout l : c.layouts) layouts.append(kLayouts[static_cast<int>(l)]);
  nb::dict d;
  d["device"] = c.device == DeviceKind::cuda ? "cuda" : "cpu";
  d["min_sm"] = c.min_sm;
  d["max_sm"] = c.max_sm;
  d["dtypes"] = dtype_names(c.dtypes);
  d["layouts"] = layouts;
  d["head_dim_min"] = c.head_dim_min;
  d["head_dim_max"] = c.head_dim_max;
  d["head_dim_multiple"] = c.head_dim_multiple;
  d["different_v_head_dim"] = c.different_v_head_dim;
  d["bool_mask"] = c.bool_mask;
  d["additive_mask"] = c.additive_mask;
  d["mask_dtypes"] = dtype_names(c.mask_dtypes);
  d["key_padding_mask"] = c.key_padding_mask;
  d["mask_with_causal"] = c.mask_with_causal;
  d["causal_top_left"] = c.causal_top_left;
  d["causal_bottom_right"] = c.causal_bottom_right;
  d["window"] = c.window;
  d["softcap"] = c.softcap;
  d["gqa"] = c.gqa;
  d["dropout"] = c.dropout;
  d["dropout_attend_stream"] = c.dropout_attend_stream;
  d["lse"] = c.lse;
  d["deterministic"] = c.deterministic;
  d["backward"] = c.backward;
  d["any_strides"] = c.any_strides;
  d["alignment_bytes"] = c.alignment_bytes;
  d["quantized"] = c.quantized;
  return d;
}

nb::list backends_list() {
  nb::list out;
  for (const BackendInfo& b : list_backends()) {
    nb::dict d;
    d["id"] = b.id;
    d["family"] = b.family;
    d["description"] = b.description;
    d["origin"] = b.origin;
    d["aliases"] = b.aliases;
    d["capabilities"] = capabilities_dict(b.capabilities);
    d["score"] = b.availability.score;
    d["reason"] = b.availability.reason;
    out.append(d);
  }
  return out;
}

nb::list refusals_list() {
  nb::list out;
  for (const PluginRefusal& r : plugin_refusals()) out.append(nb::make_tuple(r.path, r.reason));
  return out;
}

}  // namespace
}  // namespace attend::python

NB_MODULE(_attend, m) {
  using namespace attend;
  using attend::python::Call;
  m.doc() = "attend's C++ library; use the functions of the attend package";
  m.attr("__version__") = ATTEND_VERSION_STRING;
  python::register_error_translator();
  python::bind_flex(m);

  nb::class_<python::RawTensor>(m, "RawTensor")
      .def(nb::init<std::uintptr_t, int, bool, int, const std::vector<std::int64_t>&,
                    const std::vector<std::int64_t>&>(),
           "data"_a, "dtype"_a, "cuda"_a, "device_index"_a, "shape"_a, "strides"_a);

  nb::class_<Call>(m, "Call")
      .def(nb::init<std::optional<std::string>, std::optional<std::string>, python::InputArg,
                    python::InputArg, python::InputArg, python::OutputArg,
                    std::optional<python::InputArg>, std::optional<python::InputArg>,
                    std::optional<python::OutputArg>, std::optional<python::InputArg>,
                    std::optional<python::InputArg>, int, bool, int, std::int64_t, std::int64_t,
                    std::optional<double>, double, bool, double, std::uint64_t, std::uint64_t,
                    std::int64_t, std::int64_t, std::uintptr_t, nb::object>(),
           "backend"_a.none(), "scope"_a.none(), "q"_a, "k"_a, "v"_a, "out"_a, "attn_mask"_a.none(),
           "key_padding_mask"_a.none(), "lse"_a.none(), "cu_seqlens_q"_a.none(),
           "cu_seqlens_k"_a.none(), "layout"_a, "is_causal"_a, "align"_a, "window_left"_a,
           "window_right"_a, "scale"_a.none(), "softcap"_a, "enable_gqa"_a, "dropout_p"_a,
           "dropout_seed"_a, "dropout_offset"_a, "max_seqlen_q"_a, "max_seqlen_k"_a, "stream"_a,
           "flex"_a.none())
      // Long CPU work must not hold other Python threads back.
      .def("run", &Call::run, nb::call_guard<nb::gil_scoped_release>())
      .def("explain",
           [](const Call& c) {
             Explanation ex;
             {
               nb::gil_scoped_release unlocked;
               ex = c.explain();
             }
             return python::explanation_dict(ex);
           })
      .def("block_mask", &Call::block_mask, nb::call_guard<nb::gil_scoped_release>())
      .def("time_native", &Call::time_native, "iterations"_a,
           nb::call_guard<nb::gil_scoped_release>());

  m.def("list_backends", &python::backends_list);
  m.def("has_backend", [](std::string_view id) { return has_backend(id); });
  m.def("resolve_backend_id", [](std::string_view id) { return resolve_backend_id(id); });
  m.def("default_backend", &default_backend);
  m.def("set_default_backend", [](std::string_view id) { set_default_backend(id); });
  m.def("load_plugin", &load_plugin, "path"_a, "replace"_a = false);
  m.def("unregister_backend", [](std::string_view id) { return unregister_backend(id); });
  m.def("plugin_refusals", &python::refusals_list);
  m.def("set_data_checks", &set_data_checks);
  m.def("data_checks_enabled", &data_checks_enabled);
  m.def("code_names", [] {
    nb::list out;
    for (int c = 0; c <= static_cast<int>(Code::flex); ++c) {
      out.append(std::string(code_name(static_cast<Code>(c))));
    }
    return out;
  });
}
