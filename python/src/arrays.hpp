// DLPack arrays (any producer nanobind reads: PyTorch, NumPy, CuPy, JAX, ...) as attend views.
// Zero copies: the view points at the producer's memory with its strides.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <variant>
#include <vector>

#include "attend/tensor.hpp"

namespace attend::python {

// Inputs are read-only views; outputs (out, lse) must be writable.
using InputArray = nanobind::ndarray<nanobind::ro>;
using OutputArray = nanobind::ndarray<>;

// A tensor described by its fields, for producers whose DLPack export costs more than the call
// (PyTorch's: microseconds per tensor). The caller keeps the memory alive for the call.
struct RawTensor {
  TensorView view;
  RawTensor(std::uintptr_t data, int dtype, bool cuda, int device_index,
            const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides);
};

using InputArg = std::variant<RawTensor, InputArray>;
using OutputArg = std::variant<RawTensor, OutputArray>;

// `role` names the argument in errors ("q", "attn_mask", ...). Throws attend::Error for element
// types, devices and ranks attend cannot describe.
TensorView to_view(const InputArg& array, const char* role);
TensorView to_view(const OutputArg& array, const char* role);

}  // namespace attend::python
