// attend's C++ errors as the Python exceptions of attend/_errors.py, with their codes and, for
// NoBackendError, every verdict as data.
#pragma once

#include <nanobind/nanobind.h>

#include <vector>

#include "attend/error.hpp"

namespace attend::python {

// A Verdict as the dict attend._types.Verdict is built from.
nanobind::dict verdict_dict(const Verdict& v);
nanobind::list verdict_list(const std::vector<Verdict>& verdicts);

// Installs the translator: attend::NoBackendError -> attend.NoBackendError, attend::Error ->
// attend.Error. Everything else keeps nanobind's translation (std::bad_alloc -> MemoryError,
// other std::exception -> RuntimeError), so no C++ exception reaches the interpreter.
void register_error_translator();

}  // namespace attend::python
