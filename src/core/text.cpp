// Names of enums used in messages.
#include "core/text.hpp"

namespace attend::core {

std::string_view layout_name(Layout l) noexcept {
  switch (l) {
    case Layout::BSHD:
      return "BSHD";
    case Layout::BHSD:
      return "BHSD";
    case Layout::THD:
      return "THD";
  }
  return "?";
}

std::string_view align_name(Align a) noexcept {
  return a == Align::top_left ? "top-left" : "bottom-right";
}

}  // namespace attend::core
