// Capability checks as data: each predicate compares one feature of the problem with what the
// backend declares. In detailed mode every failing predicate is recorded; otherwise the first
// failure ends the evaluation without building any string.
#include "core/evaluate.hpp"

#include <algorithm>
#include <string>

#include "attend/flex.hpp"
#include "core/cuda_devices.hpp"
#include "core/text.hpp"

namespace attend::core {
namespace {

template <class T>
bool contains(const std::vector<T>& items, T value) {
  return std::find(items.begin(), items.end(), value) != items.end();
}

std::string head_dim_rule(const Capabilities& c) {
  std::string s =
      str(c.head_dim_min, "..", c.head_dim_max > 0 ? std::to_string(c.head_dim_max) : "");
  if (c.head_dim_multiple > 1) s += str(", multiple of ", c.head_dim_multiple);
  return s;
}

bool head_dim_ok(const Capabilities& c, std::int64_t d) {
  return d >= c.head_dim_min && (c.head_dim_max == 0 || d <= c.head_dim_max) &&
         d % c.head_dim_multiple == 0;
}

bool aligned(const void* p, int bytes) {
  return bytes <= 1 || reinterpret_cast<std::uintptr_t>(p) % static_cast<unsigned>(bytes) == 0;
}

void check_layout_and_strides(const Capabilities& c, const Problem& p, ReasonSink& sink) {
  const Params& prm = *p.params;
  if (!contains(c.layouts, prm.layout)) {
    sink.refuse(Code::layout, "layout", join(c.layouts, layout_name),
                std::string(layout_name(prm.layout)));
  }
  const TensorRef* refs[] = {&p.q, &p.k, &p.v, &p.out};
  const char* names[] = {"q", "k", "v", "out"};
  if (!c.any_strides) {
    for (int i = 0; i < 4; ++i) {
      if (refs[i]->sd != 1) {
        sink.refuse(Code::stride, str(names[i], " head-dim stride"), "1",
                    std::to_string(refs[i]->sd));
        if (!sink.detailed()) return;
      }
    }
  }
  if (c.alignment_bytes > 0) {
    const std::int64_t elem = static_cast<std::int64_t>(size_of(p.dtype));
    for (int i = 0; i < 4; ++i) {
      const TensorRef& r = *refs[i];
      // Strides are bounded by the structural checks, so stride * element size fits in int64.
      auto ok = [&](std::int64_t stride) {
        return (stride % c.alignment_bytes) * elem % c.alignment_bytes == 0;
      };
      const bool strides_ok = ok(r.sb) && ok(r.ss) && ok(r.sh);
      if (!aligned(r.data, c.alignment_bytes) || !strides_ok) {
        sink.refuse(Code::alignment, str(names[i], " data and row strides"),
                    str("aligned to ", c.alignment_bytes, " bytes"), "misaligned");
        if (!sink.detailed()) return;
      }
    }
  }
}

}  // namespace

void evaluate(const Backend& backend, const Availability& availability, const Problem& p,
              ReasonSink& sink) {
  const Capabilities& c = backend.capabilities();
  const bool detailed = sink.detailed();
  auto stop = [&] { return sink.refused() && !detailed; };

  if (availability.score <= 0) {
    sink.refuse(Code::unavailable, "available on this machine", "yes", availability.reason);
    if (!detailed) return;
  }
  if (p.device.kind != c.device) {
    sink.refuse(Code::device, "device", c.device == DeviceKind::cpu ? "cpu" : "cuda",
                to_string(p.device));
    if (stop()) return;
  } else if (p.device.kind == DeviceKind::cuda) {
    // The problem's own device decides, not device 0: a machine may mix generations.
    const CudaDeviceInfo* dev = cuda_device(p.device.index);
    if (dev == nullptr) {
      const CudaDevices& all = cuda_devices();
      sink.refuse(
          Code::device, "CUDA device",
          all.list.empty() ? std::string("a CUDA device") : str("cuda:0..", all.list.size() - 1),
          all.list.empty() ? all.reason : to_string(p.device));
      if (stop()) return;
    } else if ((c.min_sm > 0 && dev->sm < c.min_sm) || (c.max_sm > 0 && dev->sm > c.max_sm)) {
      sink.refuse(Code::device, str("compute capability of ", to_string(p.device)),
                  sm_range(c.min_sm, c.max_sm), str("sm_", dev->sm));
      if (stop()) return;
    }
  }
  if (!contains(c.dtypes, p.dtype)) {
    sink.refuse(Code::dtype, "dtype", join(c.dtypes, [](DType t) { return std::string(name(t)); }),
                std::string(name(p.dtype)));
    if (stop()) return;
  }
  check_layout_and_strides(c, p, sink);
  if (stop()) return;
  if (!head_dim_ok(c, p.D)) {
    sink.refuse(Code::head_dim, "head dim", head_dim_rule(c), std::to_string(p.D));
    if (stop()) return;
  }
  if (p.Dv != p.D) {
    if (!c.different_v_head_dim) {
      sink.refuse(Code::head_dim_v, "V head dim", str("equal to D (", p.D, ")"),
                  std::to_string(p.Dv));
    } else if (!head_dim_ok(c, p.Dv)) {
      sink.refuse(Code::head_dim, "V head dim", head_dim_rule(c), std::to_string(p.Dv));
    }
    if (stop()) return;
  }
  if (p.mask.present()) {
    const bool is_bool = p.mask.dtype == DType::boolean;
    if (is_bool ? !c.bool_mask : !c.additive_mask) {
      const std::string have = c.bool_mask       ? "bool mask"
                               : c.additive_mask ? "additive mask"
                                                 : "none";
      sink.refuse(Code::mask, "attn_mask", have, is_bool ? "bool mask" : "additive mask");
      if (stop()) return;
    }
    if (!is_bool && !c.mask_dtypes.empty() && !contains(c.mask_dtypes, p.mask.dtype)) {
      sink.refuse(Code::mask, "additive mask dtype",
                  join(c.mask_dtypes, [](DType t) { return std::string(name(t)); }),
                  std::string(name(p.mask.dtype)));
      if (stop()) return;
    }
    if (p.causal && !c.mask_with_causal) {
      sink.refuse(Code::mask_with_causal, "attn_mask with is_causal", "one of them", "both");
      if (stop()) return;
    }
  }
  if (p.key_padding.present() && !c.key_padding_mask) {
    sink.refuse(Code::mask, "key_padding_mask", "none", "bool (B, Sk)");
    if (stop()) return;
  }
  // Alignment only matters when the corners differ: Sq != Sk, or packed sequences.
  const bool alignment_matters = p.varlen || p.Sq != p.Sk;
  if (p.causal || p.banded()) {  // a window is placed by the same alignment
    const bool ok = p.align == Align::top_left
                        ? c.causal_top_left || (!alignment_matters && c.causal_bottom_right)
                        : c.causal_bottom_right || (!alignment_matters && c.causal_top_left);
    if (!ok) {
      std::string have = c.causal_top_left       ? "top-left"
                         : c.causal_bottom_right ? "bottom-right"
                                                 : "none";
      sink.refuse(Code::causal_align, "causal/window alignment", have,
                  std::string(align_name(p.align)));
      if (stop()) return;
    }
  }
  const Params& prm = *p.params;
  if (prm.window.active() && !c.window) {
    sink.refuse(Code::window, "sliding window", "none",
                str("(", prm.window.left, ", ", prm.window.right, ")"));
    if (stop()) return;
  }
  if (p.softcap > 0 && !c.softcap) {
    sink.refuse(Code::softcap, "softcap", "0", str(p.softcap));
    if (stop()) return;
  }
  if (p.Hq != p.Hkv && !c.gqa) {
    sink.refuse(Code::gqa, "heads Hq / Hkv", "equal", str(p.Hq, " / ", p.Hkv));
    if (stop()) return;
  }
  if (p.dropout_p > 0 && !c.dropout) {
    sink.refuse(Code::dropout, "dropout_p", "0", str(p.dropout_p));
    if (stop()) return;
  }
  if (p.lse.present() && !c.lse) {
    sink.refuse(Code::lse, "lse output", "none", "requested");
    if (stop()) return;
  }
  if (p.flex != nullptr) {
    const FlexSpec& f = *p.flex;
    if (!(f.has_source() && c.flex_source) && !(f.has_callables() && c.flex_callables)) {
      const std::string have = c.flex_source      ? "score_mod/mask_mod source"
                               : c.flex_callables ? "score_fn/mask_fn callables"
                                                  : "no flex spec";
      const std::string got = f.has_source() && f.has_callables() ? "source and callables"
                              : f.has_source()                    ? "source"
                                                                  : "callables";
      sink.refuse(Code::flex, "flex spec", have, got);
      if (stop()) return;
    }
  }
  backend.check(p, sink);
}

}  // namespace attend::core
