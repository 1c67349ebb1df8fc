#include "arrays.hpp"

#include <string>

#include "attend/error.hpp"

namespace nb = nanobind;

namespace attend::python {
namespace {

DType to_dtype(nb::dlpack::dtype t, const char* role) {
  using nb::dlpack::dtype_code;
  if (t.lanes == 1) {
    switch (static_cast<dtype_code>(t.code)) {
      case dtype_code::Float:
        if (t.bits == 16) return DType::f16;
        if (t.bits == 32) return DType::f32;
        if (t.bits == 64) return DType::f64;
        break;
      case dtype_code::Bfloat:
        if (t.bits == 16) return DType::bf16;
        break;
      case dtype_code::Bool:
        if (t.bits == 8) return DType::boolean;
        break;
      case dtype_code::Int:
        if (t.bits == 32) return DType::i32;
        if (t.bits == 64) return DType::i64;
        break;
      default:
        break;
    }
  }
  static constexpr const char* kCodes[] = {"int",    "uint",    "float", "opaque",
                                           "bfloat", "complex", "bool"};
  const std::string code =
      t.code < std::size(kCodes) ? kCodes[t.code] : "code " + std::to_string(t.code);
  throw Error(Code::dtype, std::string("attend: ") + role + " has element type " + code +
                               std::to_string(t.bits) +
                               (t.lanes != 1 ? "x" + std::to_string(t.lanes) : "") +
                               "; attend reads float16, bfloat16, float32, float64, bool, int32 "
                               "and int64");
}

Device to_device(int type, int id, const char* role) {
  // Pinned host memory is host memory; managed memory belongs to its GPU.
  if (type == nb::device::cpu::value || type == nb::device::cuda_host::value) return Device::host();
  if (type == nb::device::cuda::value || type == nb::device::cuda_managed::value) {
    return Device::cuda(id);
  }
  throw Error(Code::device, std::string("attend: ") + role + " lives on DLPack device type " +
                                std::to_string(type) + "; attend takes CPU and CUDA memory");
}

void check_rank(int rank, const char* role) {
  if (rank < 1 || rank > kMaxRank) {
    throw Error(Code::rank, std::string("attend: ") + role + " has " + std::to_string(rank) +
                                " dimensions; attend takes 1 to " + std::to_string(kMaxRank));
  }
}

template <class Array>
TensorView view_of(const Array& a, const char* role, void* data) {
  const auto rank = static_cast<int>(a.ndim());
  check_rank(rank, role);
  TensorView v;
  v.data = data;
  v.dtype = to_dtype(a.dtype(), role);
  v.device = to_device(a.device_type(), a.device_id(), role);
  v.rank = rank;
  for (int i = 0; i < rank; ++i) {
    v.shape[i] = static_cast<std::int64_t>(a.shape(i));
    v.strides[i] = a.stride(i);
  }
  return v;
}

}  // namespace

RawTensor::RawTensor(std::uintptr_t data, int dtype, bool cuda, int device_index,
                     const std::vector<std::int64_t>& shape,
                     const std::vector<std::int64_t>& strides) {
  if (dtype < 0 || dtype > static_cast<int>(DType::i64)) {
    throw Error(Code::dtype, "attend: unknown dtype value " + std::to_string(dtype));
  }
  if (shape.size() != strides.size()) {
    throw Error(Code::rank, "attend: a tensor's shape and strides differ in length");
  }
  check_rank(static_cast<int>(shape.size()), "a tensor");
  view.data = reinterpret_cast<void*>(data);
  view.dtype = static_cast<DType>(dtype);
  view.device = cuda ? Device::cuda(device_index) : Device::host();
  view.rank = static_cast<int>(shape.size());
  for (int i = 0; i < view.rank; ++i) {
    view.shape[i] = shape[i];
    view.strides[i] = strides[i];
  }
}

TensorView to_view(const InputArg& array, const char* role) {
  if (const auto* raw = std::get_if<RawTensor>(&array)) return raw->view;
  const auto& a = std::get<InputArray>(array);
  // attend's views are mutable in type only: inputs are never written.
  return view_of(a, role, const_cast<void*>(a.data()));
}

TensorView to_view(const OutputArg& array, const char* role) {
  if (const auto* raw = std::get_if<RawTensor>(&array)) return raw->view;
  const auto& a = std::get<OutputArray>(array);
  return view_of(a, role, a.data());
}

}  // namespace attend::python
