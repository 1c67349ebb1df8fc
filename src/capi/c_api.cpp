// The C API over the C++ one. Each entry point converts its arguments, calls the C++ function,
// and turns any exception into an error code plus a thread-local message.
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "attend/attend.h"
#include "attend/attend.hpp"

namespace {

thread_local std::string last_error;
thread_local int last_code = 0;
// The C API's scopes on this thread; at thread exit the unpopped ones end innermost first.
struct ScopeStack {
  std::vector<std::unique_ptr<attend::BackendScope>> items;
  ~ScopeStack() {
    while (!items.empty()) items.pop_back();
  }
};
thread_local ScopeStack scopes;

template <class F>
int guarded(F&& f) {
  try {
    f();
    last_code = 0;
    last_error.clear();
    return 0;
  } catch (const attend::Error& e) {
    last_code = static_cast<int>(e.code());
    last_error = e.what();
  } catch (const std::bad_alloc&) {
    last_code = static_cast<int>(attend::Code::runtime);
    last_error = "attend: out of memory";
  } catch (const std::exception& e) {
    last_code = static_cast<int>(attend::Code::runtime);
    last_error = std::string("attend: ") + e.what();
  } catch (...) {
    last_code = static_cast<int>(attend::Code::runtime);
    last_error = "attend: unknown failure";
  }
  return last_code;
}

attend::TensorView to_view(const attend_tensor& t) {
  attend::TensorView v;
  if (t.rank < 0 || t.rank > attend::kMaxRank) {
    throw attend::Error(attend::Code::rank,
                        "attend: a C tensor has rank " + std::to_string(t.rank));
  }
  if (t.dtype < ATTEND_DTYPE_F32 || t.dtype > ATTEND_DTYPE_I64) {
    throw attend::Error(attend::Code::dtype,
                        "attend: unknown dtype value " + std::to_string(t.dtype));
  }
  if (t.device_kind != ATTEND_DEVICE_CPU && t.device_kind != ATTEND_DEVICE_CUDA) {
    throw attend::Error(attend::Code::device,
                        "attend: unknown device kind " + std::to_string(t.device_kind));
  }
  v.data = t.data;
  v.dtype = static_cast<attend::DType>(t.dtype);
  v.device = {
      t.device_kind == ATTEND_DEVICE_CUDA ? attend::DeviceKind::cuda : attend::DeviceKind::cpu,
      t.device_index};
  v.rank = t.rank;
  for (int i = 0; i < t.rank; ++i) {
    v.shape[i] = t.shape[i];
    v.strides[i] = t.strides[i];
  }
  return v;
}

attend::Params to_params(const attend_params* c) {
  if (!c) throw attend::Error(attend::Code::usage, "attend: params is NULL");
  if (c->layout < ATTEND_LAYOUT_BSHD || c->layout > ATTEND_LAYOUT_THD) {
    throw attend::Error(attend::Code::layout,
                        "attend: unknown layout value " + std::to_string(c->layout));
  }
  attend::Params p;
  p.q = to_view(c->q);
  p.k = to_view(c->k);
  p.v = to_view(c->v);
  p.out = to_view(c->out);
  p.layout = static_cast<attend::Layout>(c->layout);
  p.attn_mask = to_view(c->attn_mask);
  p.key_padding_mask = to_view(c->key_padding_mask);
  p.is_causal = c->is_causal != 0;
  p.align = static_cast<attend::Align>(c->align);  // validated by the library like any value
  p.window = {c->window_left, c->window_right};
  if (c->has_scale) p.scale = c->scale;
  p.softcap = c->softcap;
  p.enable_gqa = c->enable_gqa != 0;
  p.dropout_p = c->dropout_p;
  p.dropout_seed = c->dropout_seed;
  p.dropout_offset = c->dropout_offset;
  p.lse = to_view(c->lse);
  p.cu_seqlens_q = to_view(c->cu_seqlens_q);
  p.cu_seqlens_k = to_view(c->cu_seqlens_k);
  p.max_seqlen_q = c->max_seqlen_q;
  p.max_seqlen_k = c->max_seqlen_k;
  p.stream = c->stream;
  return p;
}

void copy_out(const std::string& text, char* buf, size_t size, size_t* needed) {
  if (needed) *needed = text.size() + 1;
  if (!buf || size == 0) return;
  const size_t n = std::min(size - 1, text.size());
  std::memcpy(buf, text.data(), n);
  buf[n] = '\0';
}

}  // namespace

extern "C" {

void attend_params_init(attend_params* params) {
  if (!params) return;
  *params = attend_params{};
  params->window_left = params->window_right = -1;
}

attend_tensor attend_tensor_contiguous(void* data, int32_t dtype, int32_t device_kind, int32_t rank,
                                       const int64_t* shape) {
  attend_tensor t{};
  t.data = data;
  t.dtype = dtype;
  t.device_kind = device_kind;
  t.rank = rank < 0 ? 0 : (rank > 4 ? 4 : rank);
  int64_t stride = 1;
  for (int i = t.rank - 1; i >= 0; --i) {
    t.shape[i] = shape ? shape[i] : 0;
    t.strides[i] = stride;
    if (__builtin_mul_overflow(stride, t.shape[i] > 0 ? t.shape[i] : 1, &stride)) {
      stride = INT64_MAX;  // refused as an overflow when used
    }
  }
  return t;
}

int attend_attention(const attend_params* params, const char* backend) {
  return guarded([&] {
    const attend::Params p = to_params(params);
    backend ? attend::attention(p, backend) : attend::attention(p);
  });
}

int attend_explain(const attend_params* params, const char* backend, char* buf, size_t size,
                   size_t* needed) {
  return guarded([&] {
    const attend::Params p = to_params(params);
    const attend::Explanation ex = backend ? attend::explain(p, backend) : attend::explain(p);
    std::string text = "requested: " + ex.requested + " (" +
                       std::string(attend::source_name(ex.source)) +
                       ")\nchosen: " + (ex.chosen.empty() ? "none" : ex.chosen) + "\n" +
                       attend::format_verdicts(ex.verdicts);
    copy_out(text, buf, size, needed);
  });
}

int attend_scope_push(const char* id) {
  return guarded([&] {
    if (!id) throw attend::Error(attend::Code::usage, "attend: scope id is NULL");
    scopes.items.push_back(std::make_unique<attend::BackendScope>(id));
  });
}

int attend_scope_pop(void) {
  return guarded([] {
    if (scopes.items.empty())
      throw attend::Error(attend::Code::usage, "attend: no scope to pop on this thread");
    scopes.items.pop_back();
  });
}

int attend_set_default_backend(const char* id) {
  return guarded([&] {
    if (!id) throw attend::Error(attend::Code::usage, "attend: backend id is NULL");
    attend::set_default_backend(id);
  });
}

int attend_list_backends(char* buf, size_t size, size_t* needed) {
  return guarded([&] {
    std::string text;
    for (const attend::BackendInfo& b : attend::list_backends()) {
      text += b.id + " " + std::to_string(b.availability.score) + " " + b.family + " " + b.origin +
              "\n";
    }
    copy_out(text, buf, size, needed);
  });
}

int attend_load_plugin(const char* path, int replace) {
  return guarded([&] {
    if (!path) throw attend::Error(attend::Code::usage, "attend: plugin path is NULL");
    attend::load_plugin(path, replace != 0);
  });
}

int attend_last_error_code(void) {
  return last_code;
}
const char* attend_last_error(void) {
  return last_error.c_str();
}

const char* attend_code_name(int code) {
  static thread_local std::string name;
  name = std::string(attend::code_name(static_cast<attend::Code>(code)));
  return name.c_str();
}

const char* attend_version(void) {
  return ATTEND_VERSION_STRING;
}

}  // extern "C"
