// NVRTC, opened at run time (ATTEND_NVRTC_LIBRARY, else the toolkit's libnvrtc found at build
// time, else the loader's search), so libattend never needs it to load; and one compilation of a
// source with in-memory headers to a cubin, or the compiler's log.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attend/backend.hpp"

namespace attend::flex {

// Score 1 with NVRTC's version when it loaded, else 0 and why. Never throws.
const Availability& nvrtc_library();

struct Compiled {
  bool ok = false;
  std::string cubin;                       // the machine code when ok
  std::string log;                         // the compiler's messages
  std::vector<std::string> lowered_names;  // per requested name expression, when ok
};

// Compiles `source` (named `name` in messages) for `arch` (e.g. "sm_90a"); `headers` are
// (include name, text) pairs found before the include path; `name_expressions` are kernels to
// instantiate, whose mangled names come back in order. Throws attend::Error when NVRTC itself
// is missing or fails for another reason than the source.
Compiled compile(const std::string& source, const char* name,
                 const std::vector<std::pair<std::string, std::string_view>>& headers,
                 const std::vector<std::string>& options,
                 const std::vector<std::string>& name_expressions);

}  // namespace attend::flex
