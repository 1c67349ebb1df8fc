// attend.FlexSpec's C++ half: the FlexSpec, the arrays its sources read (kept alive with it),
// and Python callables wrapped as the CPU's score_fn / mask_fn.
#pragma once

#include <nanobind/nanobind.h>

#include <memory>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "attend/flex.hpp"
#include "attend/params.hpp"

namespace attend::python {

// A Python callable shared by the std::function's copies (see flex.cpp).
struct PyFunction;

class Flex {
 public:
  // An empty source string is no source; None is no callable.
  Flex(std::string score_mod, std::string mask_mod, const std::vector<std::string>& names,
       std::vector<InputArg> tensors, nanobind::object score_fn, nanobind::object mask_fn);

  const FlexSpec& spec() const noexcept { return spec_; }
  void set_block_mask(std::shared_ptr<const FlexBlockMask> mask) {
    spec_.block_mask = std::move(mask);
  }

  // The garbage collector's view of the callables: a lambda that reaches the spec through its
  // globals is a cycle the collector must see to break.
  int traverse(visitproc visit, void* arg) const;
  void clear() noexcept;

 private:
  FlexSpec spec_;
  std::vector<InputArg> arrays_;
  std::shared_ptr<PyFunction> score_fn_, mask_fn_;
};

// A block mask built for a spec and a problem (attend.flex_block_mask).
struct BlockMask {
  std::shared_ptr<const FlexBlockMask> mask;
};

// flex_block_mask on the call's parameters (their flex spec, sizes, device and stream).
BlockMask build_block_mask(const Params& params);

void bind_flex(nanobind::module_& m);

}  // namespace attend::python
