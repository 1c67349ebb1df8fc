#include "backends/flex/nvrtc.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <memory>

#include "core/text.hpp"

namespace attend::flex {
namespace {

using core::str;

// NVRTC's C API, the part used here (nvrtc.h's signatures, with its handle and result types).
using Program = void*;
using Result = int;
struct Api {
  const char* (*error_string)(Result);
  Result (*version)(int*, int*);
  Result (*create)(Program*, const char*, const char*, int, const char* const*, const char* const*);
  Result (*destroy)(Program*);
  Result (*add_name)(Program, const char*);
  Result (*compile)(Program, int, const char* const*);
  Result (*log_size)(Program, std::size_t*);
  Result (*log)(Program, char*);
  Result (*cubin_size)(Program, std::size_t*);
  Result (*cubin)(Program, char*);
  Result (*lowered_name)(Program, const char*, const char**);
};

struct Loaded {
  Availability availability;
  Api api{};
};

template <class F>
bool bind(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

Loaded open_nvrtc() {
  Loaded l;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("ATTEND_NVRTC_LIBRARY"); env != nullptr && *env != '\0') {
    candidates.push_back(env);
  } else {
#ifdef ATTEND_NVRTC_DEFAULT_LIBRARY
    candidates.push_back(ATTEND_NVRTC_DEFAULT_LIBRARY);
#endif
    candidates.push_back("libnvrtc.so.13");
    candidates.push_back("libnvrtc.so.12");
  }
  void* lib = nullptr;
  std::string tried;
  for (const std::string& c : candidates) {
    lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib != nullptr) break;
    tried += (tried.empty() ? "" : ", ") + c;
  }
  if (lib == nullptr) {
    l.availability = {0, str("NVRTC not found (tried ", tried,
                             "); set ATTEND_NVRTC_LIBRARY to the path of libnvrtc.so")};
    return l;
  }
  Api& a = l.api;
  const bool ok =
      bind(lib, "nvrtcGetErrorString", a.error_string) && bind(lib, "nvrtcVersion", a.version) &&
      bind(lib, "nvrtcCreateProgram", a.create) && bind(lib, "nvrtcDestroyProgram", a.destroy) &&
      bind(lib, "nvrtcAddNameExpression", a.add_name) &&
      bind(lib, "nvrtcCompileProgram", a.compile) &&
      bind(lib, "nvrtcGetProgramLogSize", a.log_size) && bind(lib, "nvrtcGetProgramLog", a.log) &&
      bind(lib, "nvrtcGetCUBINSize", a.cubin_size) && bind(lib, "nvrtcGetCUBIN", a.cubin) &&
      bind(lib, "nvrtcGetLoweredName", a.lowered_name);
  if (!ok) {
    l.availability = {0, "the NVRTC library lacks functions attend needs (needs CUDA 12 or newer)"};
    return l;
  }
  int major = 0, minor = 0;
  a.version(&major, &minor);
  if (major < 12) {
    l.availability = {0, str("NVRTC ", major, ".", minor, "; sm_90a needs 12.0 or newer")};
    return l;
  }
  l.availability = {1, str("NVRTC ", major, ".", minor)};
  return l;
}

const Loaded& loaded() {
  static const Loaded l = open_nvrtc();
  return l;
}

}  // namespace

const Availability& nvrtc_library() {
  return loaded().availability;
}

Compiled compile(const std::string& source, const char* name,
                 const std::vector<std::pair<std::string, std::string_view>>& headers,
                 const std::vector<std::string>& options,
                 const std::vector<std::string>& name_expressions) {
  const Loaded& l = loaded();
  if (l.availability.score <= 0) throw Error(Code::unavailable, "attend: " + l.availability.reason);
  const Api& a = l.api;
  auto check = [&](Result r, const char* what) {
    if (r != 0) throw Error(Code::runtime, str("attend: NVRTC ", what, ": ", a.error_string(r)));
  };
  // NVRTC takes NUL-terminated header texts.
  std::vector<std::string> texts;
  std::vector<const char*> header_ptrs, include_names;
  texts.reserve(headers.size());
  for (const auto& [include_name, text] : headers) {
    texts.emplace_back(text);
    include_names.push_back(include_name.c_str());
  }
  for (const std::string& t : texts) header_ptrs.push_back(t.c_str());

  Program prog = nullptr;
  check(a.create(&prog, source.c_str(), name, static_cast<int>(texts.size()), header_ptrs.data(),
                 include_names.data()),
        "nvrtcCreateProgram");
  std::unique_ptr<Program, void (*)(Program*)> guard(&prog,
                                                     [](Program* p) { loaded().api.destroy(p); });
  for (const std::string& e : name_expressions) check(a.add_name(prog, e.c_str()), "name");
  std::vector<const char*> opts;
  for (const std::string& o : options) opts.push_back(o.c_str());
  const Result r = a.compile(prog, static_cast<int>(opts.size()), opts.data());

  Compiled out;
  std::size_t log_size = 0;
  check(a.log_size(prog, &log_size), "log size");
  out.log.resize(log_size);
  if (log_size > 0) check(a.log(prog, out.log.data()), "log");
  while (!out.log.empty() && (out.log.back() == '\0' || out.log.back() == '\n')) out.log.pop_back();
  if (r != 0) return out;  // the source did not compile: the log says why
  std::size_t size = 0;
  check(a.cubin_size(prog, &size), "cubin size");
  out.cubin.resize(size);
  check(a.cubin(prog, out.cubin.data()), "cubin");
  for (const std::string& e : name_expressions) {
    const char* lowered = nullptr;
    check(a.lowered_name(prog, e.c_str(), &lowered), "lowered name");
    out.lowered_names.emplace_back(lowered);
  }
  out.ok = true;
  return out;
}

}  // namespace attend::flex
