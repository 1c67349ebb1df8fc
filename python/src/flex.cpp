#include "flex.hpp"

#include <nanobind/stl/string.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <utility>

#include "attend/error.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace attend::python {

// cpu_flash calls it from its worker threads, each taking the GIL; the last copy may be dropped
// on a worker, so the reference is released with the GIL held.
struct PyFunction {
  nb::object fn;  // None once the collector has cleared the spec
  explicit PyFunction(nb::object f) : fn(std::move(f)) {}
  PyFunction(const PyFunction&) = delete;
  PyFunction& operator=(const PyFunction&) = delete;
  ~PyFunction() {
    nb::gil_scoped_acquire gil;
    fn.reset();
  }
  nb::object operator()(auto... args) const {
    if (!fn.is_valid()) throw Error(Code::flex, "attend: the flex spec's callable was collected");
    return fn(args...);
  }
};

Flex::Flex(std::string score_mod, std::string mask_mod, const std::vector<std::string>& names,
           std::vector<InputArg> tensors, nb::object score_fn, nb::object mask_fn)
    : arrays_(std::move(tensors)) {
  if (names.size() != arrays_.size()) {
    throw Error(Code::usage, "attend: a flex spec's tensor names and tensors differ in number");
  }
  spec_.score_mod = std::move(score_mod);
  spec_.mask_mod = std::move(mask_mod);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string role = "flex tensor '" + names[i] + "'";
    spec_.tensors.push_back({names[i], to_view(arrays_[i], role.c_str())});
  }
  if (!score_fn.is_none()) {
    score_fn_ = std::make_shared<PyFunction>(std::move(score_fn));
    spec_.score_fn = [f = score_fn_](float score, std::int64_t b, std::int64_t h,
                                     std::int64_t q_idx, std::int64_t kv_idx) {
      nb::gil_scoped_acquire gil;
      const nb::object r = (*f)(score, b, h, q_idx, kv_idx);
      const double x = PyFloat_AsDouble(r.ptr());
      if (x == -1.0 && PyErr_Occurred()) throw nb::python_error();  // raised again as itself
      return static_cast<float>(x);
    };
  }
  if (!mask_fn.is_none()) {
    mask_fn_ = std::make_shared<PyFunction>(std::move(mask_fn));
    spec_.mask_fn = [f = mask_fn_](std::int64_t b, std::int64_t h, std::int64_t q_idx,
                                   std::int64_t kv_idx) {
      nb::gil_scoped_acquire gil;
      const nb::object r = (*f)(b, h, q_idx, kv_idx);
      const int visible = PyObject_IsTrue(r.ptr());
      if (visible < 0) throw nb::python_error();
      return visible != 0;
    };
  }
}

int Flex::traverse(visitproc visit, void* arg) const {
  for (const auto& f : {score_fn_, mask_fn_}) {
    if (f) Py_VISIT(f->fn.ptr());
  }
  return 0;
}

void Flex::clear() noexcept {
  for (const auto& f : {score_fn_, mask_fn_}) {
    if (f) f->fn.reset();
  }
}

BlockMask build_block_mask(const Params& params) {
  if (params.flex == nullptr) {
    throw Error(Code::usage, "attend: flex_block_mask needs a call with a flex spec");
  }
  return {flex_block_mask(*params.flex, params)};
}

namespace {

int flex_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));  // a heap type's instances hold their type
  if (!nb::inst_ready(self)) return 0;
  return nb::inst_ptr<Flex>(self)->traverse(visit, arg);
}

int flex_clear(PyObject* self) {
  if (nb::inst_ready(self)) nb::inst_ptr<Flex>(self)->clear();
  return 0;
}

PyType_Slot flex_slots[] = {{Py_tp_traverse, reinterpret_cast<void*>(flex_traverse)},
                            {Py_tp_clear, reinterpret_cast<void*>(flex_clear)},
                            {0, nullptr}};

}  // namespace

void bind_flex(nb::module_& m) {
  nb::class_<BlockMask>(m, "BlockMask")
      .def_prop_ro("batches", [](const BlockMask& b) { return b.mask->batches(); })
      .def_prop_ro("heads", [](const BlockMask& b) { return b.mask->heads(); })
      .def_prop_ro("query_tiles", [](const BlockMask& b) { return b.mask->query_tiles(); })
      .def_prop_ro("key_tiles", [](const BlockMask& b) { return b.mask->key_tiles(); })
      .def(
          "visited_tiles", [](const BlockMask& b) { return b.mask->visited_tiles(); },
          nb::call_guard<nb::gil_scoped_release>());

  nb::class_<Flex>(m, "FlexSpec", nb::type_slots(flex_slots))
      .def(nb::init<std::string, std::string, const std::vector<std::string>&,
                    std::vector<InputArg>, nb::object, nb::object>(),
           "score_mod"_a, "mask_mod"_a, "names"_a, "tensors"_a, "score_fn"_a.none(),
           "mask_fn"_a.none())
      .def(
          "set_block_mask",
          [](Flex& f, const BlockMask* b) { f.set_block_mask(b != nullptr ? b->mask : nullptr); },
          "block_mask"_a.none());
}

}  // namespace attend::python
