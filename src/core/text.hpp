// Building messages: str(a, b, c) streams any printable values into one string.
#pragma once

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "attend/params.hpp"
#include "attend/tensor.hpp"

namespace attend::core {

template <class... Parts>
std::string str(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

std::string_view layout_name(Layout l) noexcept;
std::string_view align_name(Align a) noexcept;

template <class T, class Name>
std::string join(const std::vector<T>& items, Name name, std::string_view sep = ", ") {
  std::string out;
  for (const T& item : items) {
    if (!out.empty()) out += sep;
    out += name(item);
  }
  return out;
}

}  // namespace attend::core
