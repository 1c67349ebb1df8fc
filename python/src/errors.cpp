#include "errors.hpp"

#include <nanobind/stl/string.h>

#include <exception>
#include <string>

namespace nb = nanobind;

namespace attend::python {

nb::dict verdict_dict(const Verdict& v) {
  nb::list reasons;
  for (const Reason& r : v.reasons) {
    nb::dict d;
    d["code"] = std::string(code_name(r.code));
    d["what"] = r.what;
    d["expected"] = r.expected;
    d["got"] = r.got;
    reasons.append(d);
  }
  nb::list notes;
  for (const std::string& n : v.notes) notes.append(n);
  nb::dict d;
  d["backend"] = v.backend;
  d["ok"] = v.ok;
  d["score"] = v.score;
  d["reasons"] = reasons;
  d["notes"] = notes;
  return d;
}

nb::list verdict_list(const std::vector<Verdict>& verdicts) {
  nb::list out;
  for (const Verdict& v : verdicts) out.append(verdict_dict(v));
  return out;
}

namespace {

// Raises attend._errors.<name>(*args); the module is imported here, where the GIL is held. Should
// that fail (a broken installation), the message still arrives, as a RuntimeError.
void raise_python(const char* name, const char* message, const nb::tuple& args) {
  try {
    nb::object type = nb::module_::import_("attend._errors").attr(name);
    nb::object error = type(*args);
    PyErr_SetObject(type.ptr(), error.ptr());
  } catch (...) {
    PyErr_Clear();
    PyErr_SetString(PyExc_RuntimeError, message);
  }
}

void translate(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const NoBackendError& e) {
    raise_python("NoBackendError", e.what(),
                 nb::make_tuple(e.what(), std::string(code_name(e.code())), e.requested(),
                                verdict_list(e.verdicts())));
  } catch (const Error& e) {
    raise_python("Error", e.what(), nb::make_tuple(e.what(), std::string(code_name(e.code()))));
  }
}

}  // namespace

void register_error_translator() {
  nb::register_exception_translator(translate);
}

}  // namespace attend::python
