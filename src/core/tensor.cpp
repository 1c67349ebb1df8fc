// Tensor views: dtype names and sizes, view construction, size arithmetic without overflow.
#include "attend/tensor.hpp"

#include <limits>
#include <string>

#include "attend/error.hpp"

namespace attend {

std::string_view name(DType t) noexcept {
  switch (t) {
    case DType::f32:
      return "fp32";
    case DType::f16:
      return "fp16";
    case DType::bf16:
      return "bf16";
    case DType::f64:
      return "fp64";
    case DType::boolean:
      return "bool";
    case DType::i32:
      return "int32";
    case DType::i64:
      return "int64";
  }
  return "?";
}

std::size_t size_of(DType t) noexcept {
  switch (t) {
    case DType::f32:
    case DType::i32:
      return 4;
    case DType::f16:
    case DType::bf16:
      return 2;
    case DType::f64:
    case DType::i64:
      return 8;
    case DType::boolean:
      return 1;
  }
  return 0;
}

bool is_floating(DType t) noexcept {
  return t == DType::f32 || t == DType::f16 || t == DType::bf16 || t == DType::f64;
}

bool parse_dtype(std::string_view s, DType& out) noexcept {
  struct Entry {
    std::string_view text;
    DType dtype;
  };
  static constexpr Entry kNames[] = {
      {"fp32", DType::f32},      {"f32", DType::f32},    {"float32", DType::f32},
      {"float", DType::f32},     {"fp16", DType::f16},   {"f16", DType::f16},
      {"float16", DType::f16},   {"half", DType::f16},   {"bf16", DType::bf16},
      {"bfloat16", DType::bf16}, {"fp64", DType::f64},   {"f64", DType::f64},
      {"float64", DType::f64},   {"double", DType::f64}, {"bool", DType::boolean},
      {"int32", DType::i32},     {"i32", DType::i32},    {"int64", DType::i64},
      {"i64", DType::i64}};
  for (const Entry& e : kNames) {
    if (e.text == s) {
      out = e.dtype;
      return true;
    }
  }
  return false;
}

std::string to_string(Device d) {
  if (d.kind == DeviceKind::cpu)
    return d.index == 0 ? std::string("cpu") : "cpu:" + std::to_string(d.index);
  return "cuda:" + std::to_string(d.index);
}

std::int64_t TensorView::numel() const noexcept {
  std::int64_t n = 1;
  for (int i = 0; i < rank; ++i) {
    if (shape[i] < 0 || __builtin_mul_overflow(n, shape[i], &n)) return -1;
  }
  return n;
}

bool TensorView::is_contiguous() const noexcept {
  std::int64_t expected = 1;
  for (int i = rank - 1; i >= 0; --i) {
    if (shape[i] != 1 && strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

namespace {

TensorView make_view(void* data, DType dtype, Device device,
                     std::initializer_list<std::int64_t> shape) {
  if (shape.size() > static_cast<std::size_t>(kMaxRank)) {
    throw Error(Code::rank, "attend::view: at most " + std::to_string(kMaxRank) +
                                " dimensions, got " + std::to_string(shape.size()));
  }
  TensorView t;
  t.data = data;
  t.dtype = dtype;
  t.device = device;
  t.rank = static_cast<int>(shape.size());
  int i = 0;
  for (std::int64_t s : shape) t.shape[i++] = s;
  return t;
}

}  // namespace

TensorView view(void* data, DType dtype, Device device, std::initializer_list<std::int64_t> shape) {
  TensorView t = make_view(data, dtype, device, shape);
  std::int64_t stride = 1;
  for (int i = t.rank - 1; i >= 0; --i) {
    t.strides[i] = stride;
    // Saturate: sizes this large are refused (Code::overflow) when the view is used.
    if (__builtin_mul_overflow(stride, t.shape[i] > 0 ? t.shape[i] : 1, &stride)) {
      stride = std::numeric_limits<std::int64_t>::max();
    }
  }
  return t;
}

TensorView view(void* data, DType dtype, Device device, std::initializer_list<std::int64_t> shape,
                std::initializer_list<std::int64_t> strides) {
  if (strides.size() != shape.size()) {
    throw Error(Code::rank, "attend::view: " + std::to_string(shape.size()) + " sizes but " +
                                std::to_string(strides.size()) + " strides");
  }
  TensorView t = make_view(data, dtype, device, shape);
  int i = 0;
  for (std::int64_t s : strides) t.strides[i++] = s;
  return t;
}

std::string describe(const TensorView& t) {
  if (!t.present()) return "absent";
  std::string s(name(t.dtype));
  s += '[';
  for (int i = 0; i < t.rank; ++i) {
    if (i) s += ", ";
    s += std::to_string(t.shape[i]);
  }
  s += "] on " + to_string(t.device);
  return s;
}

}  // namespace attend
